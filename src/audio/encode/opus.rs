//! `opus`: libopus in an Ogg container (RFC 7845), mono, 20 ms frames, 32 kbit/s VBR.
//!
//! libopus takes 8, 12, 16, 24 or 48 kHz; those pass straight in, anything else is resampled
//! to 24 kHz (up to 24 kHz) or 48 kHz first. Decoders always produce 48 kHz. The stream is an
//! OpusHead page, an OpusTags page, then audio pages flushed at the end of every push (less
//! the last packet, which is held back so that the final page can carry the end-of-stream
//! flag). Pre-skip is the encoder's lookahead; at the end the input is padded with silence so
//! every real sample comes out of the decoder, and the final granule position makes decoders
//! drop the padding, so the decoded length is exactly round(n · 48000 / input_rate).
//!
//! 32 kbit/s lies in the 28–40 kbit/s the Opus authors recommend for fullband speech; Piper
//! voices are band-limited to 8 or 11 kHz anyway.

use std::ffi::CStr;
use std::ptr::NonNull;

use opusic_sys as ffi;

use super::ogg::{OggWriter, Packet};
use super::resampler::StreamResampler;
use super::{EncodeError, to_f32};

/// What decoders of Ogg Opus produce, whatever went in.
pub(super) const DECODED_RATE: u32 = 48_000;
/// Bits per second.
const BITRATE: i32 = 32_000;
/// Frames per second (20 ms frames).
const FRAMES_PER_SECOND: u32 = 50;
/// Room for one packet: a 20 ms frame at 32 kbit/s is about 80 bytes; libopus's cap is 1275.
const MAX_PACKET: usize = 1_500;
/// Rates libopus encodes natively.
const NATIVE_RATES: [u32; 5] = [8_000, 12_000, 16_000, 24_000, 48_000];

pub(super) struct OggOpusEncoder {
    encoder: Encoder,
    /// 48 kHz samples per sample at `rate`.
    scale: u64,
    input_rate: u32,
    resampler: Option<StreamResampler>,
    /// Samples at `rate` not yet encoded (less than a frame between calls).
    pending: Vec<f32>,
    frame_len: usize,
    /// Encoder lookahead at `rate`.
    lookahead: usize,
    /// Real (not padding) samples at `rate` received.
    samples: u64,
    /// Packets encoded so far.
    packets: u64,
    /// The latest packet, written with the next batch or at the end.
    held: Option<Vec<u8>>,
    ogg: OggWriter,
    headers_written: bool,
    /// Scratch for packet bytes.
    buf: Vec<u8>,
}

impl OggOpusEncoder {
    pub(super) fn new(input_rate: u32) -> Result<Self, EncodeError> {
        let rate = if NATIVE_RATES.contains(&input_rate) {
            input_rate
        } else if input_rate <= 24_000 {
            24_000
        } else {
            48_000
        };
        let resampler = if rate == input_rate {
            None
        } else {
            Some(StreamResampler::new(input_rate, rate)?)
        };
        let encoder = Encoder::new(rate)?;
        let lookahead = encoder.lookahead()?;
        Ok(Self {
            encoder,
            scale: u64::from(DECODED_RATE / rate),
            input_rate,
            resampler,
            pending: Vec::new(),
            frame_len: (rate / FRAMES_PER_SECOND) as usize,
            lookahead,
            samples: 0,
            packets: 0,
            held: None,
            ogg: OggWriter::new(SERIAL),
            headers_written: false,
            buf: vec![0; MAX_PACKET],
        })
    }

    pub(super) fn push(&mut self, samples: &[i16], out: &mut Vec<u8>) -> Result<(), EncodeError> {
        self.write_headers(out);
        let before = self.pending.len();
        match &mut self.resampler {
            Some(r) => r.push(samples.iter().copied().map(to_f32), &mut self.pending)?,
            None => self.pending.extend(samples.iter().copied().map(to_f32)),
        }
        self.samples += (self.pending.len() - before) as u64;
        let packets = self.encode_pending()?;
        self.write_packets(packets, None, out);
        Ok(())
    }

    pub(super) fn finish(mut self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        self.write_headers(out);
        if let Some(r) = self.resampler.take() {
            let before = self.pending.len();
            r.finish(&mut self.pending)?;
            self.samples += (self.pending.len() - before) as u64;
        }
        // Pad with silence so that lookahead + every real sample gets encoded, in whole frames
        // (at least one, so the stream has an audio page to end on).
        let frame = self.frame_len as u64;
        let needed = self.samples + self.lookahead as u64;
        let frames = needed.div_ceil(frame).max(1);
        let padded = frames * frame - self.packets * frame;
        self.pending
            .resize(usize::try_from(padded).unwrap_or(usize::MAX), 0.0);
        let packets = self.encode_pending()?;
        // Decoders drop pre-skip from the start and whatever lies past this from the end.
        let end = (self.lookahead as u64 + self.samples) * self.scale;
        self.write_packets(packets, Some(end), out);
        Ok(())
    }

    /// Encodes every whole frame in `pending`.
    fn encode_pending(&mut self) -> Result<Vec<Vec<u8>>, EncodeError> {
        let mut packets = Vec::new();
        let mut start = 0;
        while self.pending.len() - start >= self.frame_len {
            let frame = &self.pending[start..start + self.frame_len];
            let len = self.encoder.encode(frame, &mut self.buf)?;
            packets.push(self.buf[..len].to_vec());
            self.packets += 1;
            start += self.frame_len;
        }
        self.pending.drain(..start);
        Ok(packets)
    }

    /// Writes the held packet and all of `packets` but the last, which is held in turn; or,
    /// at the end (`end` is the final granule position), everything, ending the stream.
    fn write_packets(&mut self, packets: Vec<Vec<u8>>, end: Option<u64>, out: &mut Vec<u8>) {
        let mut batch: Vec<Vec<u8>> = self.held.take().into_iter().collect();
        batch.extend(packets);
        if end.is_none() {
            self.held = batch.pop();
        }
        if batch.is_empty() && end.is_none() {
            return;
        }
        let frame = self.frame_len as u64 * self.scale;
        let first = self.packets - self.held.is_some() as u64 - batch.len() as u64;
        let last = batch.len().saturating_sub(1);
        let pages: Vec<Packet<'_>> = batch
            .iter()
            .enumerate()
            .map(|(i, data)| {
                let mut granule = (first + i as u64 + 1) * frame;
                if i == last {
                    granule = end.map_or(granule, |end| end.min(granule));
                }
                Packet { data, granule }
            })
            .collect();
        self.ogg.write(&pages, end.is_some(), out);
    }

    fn write_headers(&mut self, out: &mut Vec<u8>) {
        if std::mem::replace(&mut self.headers_written, true) {
            return;
        }
        let pre_skip = u16::try_from(self.lookahead as u64 * self.scale).unwrap_or(u16::MAX);
        let mut head = Vec::with_capacity(19);
        head.extend_from_slice(b"OpusHead");
        head.push(1); // version
        head.push(1); // channels
        head.extend_from_slice(&pre_skip.to_le_bytes());
        head.extend_from_slice(&self.input_rate.to_le_bytes());
        head.extend_from_slice(&0i16.to_le_bytes()); // output gain
        head.push(0); // channel mapping family: mono/stereo
        let vendor = version_string();
        let mut tags = Vec::with_capacity(16 + vendor.len());
        tags.extend_from_slice(b"OpusTags");
        tags.extend_from_slice(&(vendor.len() as u32).to_le_bytes());
        tags.extend_from_slice(vendor.as_bytes());
        tags.extend_from_slice(&0u32.to_le_bytes()); // no user comments
        let packet = |data| [Packet { data, granule: 0 }];
        self.ogg.write(&packet(&head), false, out);
        self.ogg.write(&packet(&tags), false, out);
    }
}

/// The Ogg serial number. It only has to differ between streams chained into one file, which
/// never happens to a response; a fixed one keeps the output reproducible.
const SERIAL: u32 = u32::from_be_bytes(*b"hear");

/// libopus's version, the customary vendor string.
fn version_string() -> String {
    // SAFETY: opus_get_version_string takes no arguments and returns a pointer to a static,
    // NUL-terminated string (or, defensively, null).
    let ptr = unsafe { ffi::opus_get_version_string() };
    if ptr.is_null() {
        return "libopus".into();
    }
    // SAFETY: non-null, NUL-terminated and static, as above.
    unsafe { CStr::from_ptr(ptr) }
        .to_string_lossy()
        .into_owned()
}

/// An owned libopus encoder.
struct Encoder(NonNull<ffi::OpusEncoder>);

// SAFETY: an OpusEncoder is plain heap state with no thread affinity; it is only reached
// through `&mut self` (or `&self` for a read-only query), so it never is used from two threads
// at once.
unsafe impl Send for Encoder {}

impl Encoder {
    fn new(rate: u32) -> Result<Self, EncodeError> {
        let mut error = 0;
        // SAFETY: valid rate, channel count and application constant; `error` is a valid
        // out-pointer. The result is null or an encoder we own.
        let ptr = unsafe {
            ffi::opus_encoder_create(rate as i32, 1, ffi::OPUS_APPLICATION_AUDIO, &mut error)
        };
        let encoder = NonNull::new(ptr)
            .map(Self)
            .ok_or_else(|| opus_error("creating the encoder", error))?;
        encoder.ctl(
            ffi::OPUS_SET_BITRATE_REQUEST,
            BITRATE,
            "setting the bitrate",
        )?;
        encoder.ctl(ffi::OPUS_SET_VBR_REQUEST, 1, "enabling VBR")?;
        encoder.ctl(
            ffi::OPUS_SET_SIGNAL_REQUEST,
            ffi::OPUS_SIGNAL_VOICE,
            "setting the signal type",
        )?;
        Ok(encoder)
    }

    /// A setter CTL that takes one `opus_int32`.
    fn ctl(&self, request: i32, value: i32, what: &str) -> Result<(), EncodeError> {
        // SAFETY: the encoder is valid; every request passed here is a SET request whose one
        // variadic argument is an opus_int32, which `value` is.
        let ret = unsafe { ffi::opus_encoder_ctl(self.0.as_ptr(), request, value) };
        if ret == ffi::OPUS_OK {
            Ok(())
        } else {
            Err(opus_error(what, ret))
        }
    }

    /// The encoder's delay in samples at its own rate.
    fn lookahead(&self) -> Result<usize, EncodeError> {
        let mut value: i32 = 0;
        // SAFETY: OPUS_GET_LOOKAHEAD takes one `opus_int32 *`, which `&mut value` is.
        let ret = unsafe {
            ffi::opus_encoder_ctl(
                self.0.as_ptr(),
                ffi::OPUS_GET_LOOKAHEAD_REQUEST,
                &mut value as *mut i32,
            )
        };
        if ret != ffi::OPUS_OK {
            return Err(opus_error("reading the lookahead", ret));
        }
        usize::try_from(value).map_err(|_| opus_error("reading the lookahead", value))
    }

    /// Encodes one frame into `buf`, returning the packet's length.
    fn encode(&mut self, frame: &[f32], buf: &mut [u8]) -> Result<usize, EncodeError> {
        let frame_size = i32::try_from(frame.len()).unwrap_or(i32::MAX);
        let max = i32::try_from(buf.len()).unwrap_or(i32::MAX);
        // SAFETY: `frame` holds exactly `frame_size` mono samples, a valid frame duration for
        // the encoder's rate (20 ms); `buf` is writable for `max` bytes.
        let ret = unsafe {
            ffi::opus_encode_float(
                self.0.as_ptr(),
                frame.as_ptr(),
                frame_size,
                buf.as_mut_ptr(),
                max,
            )
        };
        usize::try_from(ret).map_err(|_| opus_error("encoding a frame", ret))
    }
}

impl Drop for Encoder {
    fn drop(&mut self) {
        // SAFETY: the pointer came from opus_encoder_create and is destroyed only here.
        unsafe { ffi::opus_encoder_destroy(self.0.as_ptr()) }
    }
}

fn opus_error(what: &str, code: i32) -> EncodeError {
    // SAFETY: opus_strerror accepts any code and returns a static NUL-terminated string.
    let ptr = unsafe { ffi::opus_strerror(code) };
    let message = if ptr.is_null() {
        format!("error {code}")
    } else {
        // SAFETY: non-null, static and NUL-terminated, as above.
        unsafe { CStr::from_ptr(ptr) }
            .to_string_lossy()
            .into_owned()
    };
    EncodeError::codec("opus", format!("{what}: {message}"))
}
