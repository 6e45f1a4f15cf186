//! `aac`: AAC-LC in ADTS, from FFmpeg's native `aac` encoder (libavcodec, LGPL; Debian's
//! `libavcodec-dev` to build). FDK AAC is deliberately not used: its licence is not
//! GPL-compatible.
//!
//! The output rate is the input rate when AAC has it (7.35–96 kHz in MPEG-4's table), else
//! the nearest, resampled here. Bitrate (ABR): 32 kbit/s up to 12 kHz, 64 kbit/s up to
//! 24 kHz, 96 kbit/s above: mono speech, and within the encoder's per-frame ceiling of
//! 6144 bits at every rate. Each raw frame from libavcodec gets a 7-byte ADTS header (no CRC)
//! written here.
//!
//! ADTS cannot say how much priming the encoder added, so decoders output the encoder's
//! 1024 samples of priming first, and the final frame is padded with silence to 1024 samples:
//! a decoded stream is n + 1024 samples, rounded up to a whole number of frames.

use std::ffi::c_int;
use std::ptr::{self, NonNull};

use ffmpeg_sys_next as ff;

use super::resampler::StreamResampler;
use super::{EncodeError, nearest_rate, to_f32};

/// MPEG-4's sampling frequency table; an ADTS header carries the index.
const RATES: [u32; 13] = [
    96_000, 88_200, 64_000, 48_000, 44_100, 32_000, 24_000, 22_050, 16_000, 12_000, 11_025, 8_000,
    7_350,
];
/// The ADTS header, without CRC.
const ADTS_HEADER: usize = 7;
/// The largest frame an ADTS header can describe (13-bit length, header included).
const ADTS_MAX_FRAME: usize = (1 << 13) - 1;

/// The sample rate of the AAC made from `input_rate` audio.
pub(super) fn output_rate(input_rate: u32) -> u32 {
    nearest_rate(&RATES, input_rate)
}

fn bitrate(rate: u32) -> i64 {
    if rate <= 12_000 {
        32_000
    } else if rate <= 24_000 {
        64_000
    } else {
        96_000
    }
}

pub(super) struct AacEncoder {
    codec: Codec,
    resampler: Option<StreamResampler>,
    /// Samples at the output rate not yet encoded (less than a frame between calls).
    pending: Vec<f32>,
    frame_len: usize,
    /// ADTS sampling frequency index.
    rate_index: u8,
    /// Samples sent to the encoder, for timestamps.
    sent: i64,
}

impl AacEncoder {
    pub(super) fn new(input_rate: u32) -> Result<Self, EncodeError> {
        let rate = output_rate(input_rate);
        let rate_index = RATES.iter().position(|&r| r == rate).unwrap_or(0) as u8;
        let codec = Codec::open(rate, bitrate(rate))?;
        let frame_len = codec.frame_size()?;
        let resampler = if rate == input_rate {
            None
        } else {
            Some(StreamResampler::new(input_rate, rate)?)
        };
        Ok(Self {
            codec,
            resampler,
            pending: Vec::new(),
            frame_len,
            rate_index,
            sent: 0,
        })
    }

    pub(super) fn push(&mut self, samples: &[i16], out: &mut Vec<u8>) -> Result<(), EncodeError> {
        match &mut self.resampler {
            Some(r) => r.push(samples.iter().copied().map(to_f32), &mut self.pending)?,
            None => self.pending.extend(samples.iter().copied().map(to_f32)),
        }
        self.encode_pending(false, out)
    }

    pub(super) fn finish(mut self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        if let Some(r) = self.resampler.take() {
            r.finish(&mut self.pending)?;
        }
        self.encode_pending(true, out)?;
        self.codec.send(None)?;
        self.drain(out)
    }

    /// Sends every whole frame in `pending` (and, when `last`, the partial one left) and
    /// writes the packets that come out.
    fn encode_pending(&mut self, last: bool, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let mut start = 0;
        while self.pending.len() - start >= self.frame_len || (last && start < self.pending.len()) {
            let end = (start + self.frame_len).min(self.pending.len());
            self.codec
                .send(Some((&self.pending[start..end], self.sent)))?;
            self.sent += (end - start) as i64;
            start = end;
            self.drain(out)?;
        }
        self.pending.drain(..start);
        Ok(())
    }

    /// Writes every packet the encoder has ready, each behind an ADTS header.
    fn drain(&mut self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let rate_index = self.rate_index;
        self.codec.receive(|packet| {
            let len = packet.len() + ADTS_HEADER;
            if len > ADTS_MAX_FRAME {
                return Err(EncodeError::codec("aac", "a frame is too large for ADTS"));
            }
            out.extend_from_slice(&adts_header(rate_index, len));
            out.extend_from_slice(packet);
            Ok(())
        })
    }
}

/// The 7-byte ADTS header of an AAC-LC mono frame of `len` bytes (header included).
fn adts_header(rate_index: u8, len: usize) -> [u8; ADTS_HEADER] {
    const PROFILE_LC: u8 = 1; // audio object type 2, minus one
    const CHANNELS: u8 = 1;
    let len = len as u16; // checked ≤ 13 bits by the caller
    let fullness: u16 = 0x7FF; // variable bitrate
    [
        0xFF,
        0xF1, // sync, MPEG-4, layer 0, no CRC
        (PROFILE_LC << 6) | (rate_index << 2) | (CHANNELS >> 2),
        ((CHANNELS & 3) << 6) | ((len >> 11) as u8 & 0x03),
        (len >> 3) as u8,
        (((len & 7) as u8) << 5) | ((fullness >> 6) as u8 & 0x1F),
        (((fullness & 0x3F) as u8) << 2), // one raw data block
    ]
}

/// An open libavcodec AAC encoder with its reusable frame and packet.
struct Codec {
    ctx: NonNull<ff::AVCodecContext>,
    frame: NonNull<ff::AVFrame>,
    packet: NonNull<ff::AVPacket>,
}

// SAFETY: the context, frame and packet are heap objects with no thread affinity; they are
// only reached through `&mut self` (or `&self` to read a field), never from two threads at
// once.
unsafe impl Send for Codec {}

impl Codec {
    fn open(rate: u32, bitrate: i64) -> Result<Self, EncodeError> {
        quiet_logging();
        // SAFETY: plain lookup; returns null or a static codec description.
        let codec = unsafe { ff::avcodec_find_encoder(ff::AVCodecID::AV_CODEC_ID_AAC) };
        if codec.is_null() {
            return Err(EncodeError::codec("aac", "libavcodec has no AAC encoder"));
        }
        // SAFETY: `codec` is valid; the result is null or a context we own.
        let ctx = NonNull::new(unsafe { ff::avcodec_alloc_context3(codec) });
        // SAFETY: allocation only; null or a frame we own.
        let frame = NonNull::new(unsafe { ff::av_frame_alloc() });
        // SAFETY: allocation only; null or a packet we own.
        let packet = NonNull::new(unsafe { ff::av_packet_alloc() });
        let this = match (ctx, frame, packet) {
            (Some(ctx), Some(frame), Some(packet)) => Self { ctx, frame, packet },
            (ctx, frame, packet) => {
                free(ctx, frame, packet);
                return Err(EncodeError::codec("aac", "out of memory"));
            }
        };
        let rate = c_int::try_from(rate).unwrap_or(c_int::MAX);
        // SAFETY: `ctx` is a freshly allocated, unopened context and `frame` a fresh frame;
        // we set documented public fields of both (the bindings are generated from the
        // installed headers, so the layout is the library's) before opening the codec.
        let ret = unsafe {
            let c = &mut *this.ctx.as_ptr();
            c.sample_fmt = ff::AVSampleFormat::AV_SAMPLE_FMT_FLTP;
            c.sample_rate = rate;
            c.bit_rate = bitrate;
            c.time_base = ff::AVRational { num: 1, den: rate };
            ff::av_channel_layout_default(&mut c.ch_layout, 1);
            ff::avcodec_open2(this.ctx.as_ptr(), codec, ptr::null_mut())
        };
        check(ret, "opening the encoder")?;
        let frame_size = this.frame_size()?;
        // SAFETY: the context is open and the frame fresh; the frame gets the context's format
        // and layout, then buffers for one full frame.
        let ret = unsafe {
            let c = &*this.ctx.as_ptr();
            let f = &mut *this.frame.as_ptr();
            f.format = ff::AVSampleFormat::AV_SAMPLE_FMT_FLTP as c_int;
            f.sample_rate = c.sample_rate;
            f.nb_samples = frame_size as c_int;
            let ret = ff::av_channel_layout_copy(&mut f.ch_layout, &c.ch_layout);
            if ret < 0 {
                ret
            } else {
                ff::av_frame_get_buffer(this.frame.as_ptr(), 0)
            }
        };
        check(ret, "allocating a frame")?;
        Ok(this)
    }

    /// Samples per frame (1024 for AAC-LC).
    fn frame_size(&self) -> Result<usize, EncodeError> {
        // SAFETY: reading a plain field of our open context.
        let size = unsafe { (*self.ctx.as_ptr()).frame_size };
        match usize::try_from(size) {
            Ok(size) if size > 0 => Ok(size),
            _ => Err(EncodeError::codec("aac", "the encoder has no frame size")),
        }
    }

    /// Sends `samples` (at most one frame; shorter only for the last) stamped `pts`, or
    /// `None` to start draining.
    fn send(&mut self, samples: Option<(&[f32], i64)>) -> Result<(), EncodeError> {
        let Some((samples, pts)) = samples else {
            // SAFETY: a null frame tells the open encoder to flush.
            let ret = unsafe { ff::avcodec_send_frame(self.ctx.as_ptr(), ptr::null()) };
            return check(ret, "flushing");
        };
        // SAFETY: the frame was allocated for frame_size FLTP mono samples; make_writable
        // gives it buffers we may write (the encoder may still reference the old ones).
        let ret = unsafe { ff::av_frame_make_writable(self.frame.as_ptr()) };
        check(ret, "allocating a frame")?;
        let capacity = self.frame_size()?;
        let n = samples.len().min(capacity);
        // SAFETY: after make_writable, data[0] points to at least frame_size f32 samples
        // (plane 0 of FLTP mono), writable and not aliased by any Rust reference; we write
        // n ≤ frame_size of them, then set nb_samples and pts and send the frame, which the
        // encoder references or copies.
        let ret = unsafe {
            let f = &mut *self.frame.as_ptr();
            let plane = f.data[0].cast::<f32>();
            ptr::copy_nonoverlapping(samples.as_ptr(), plane, n);
            f.nb_samples = n as c_int;
            f.pts = pts;
            ff::avcodec_send_frame(self.ctx.as_ptr(), self.frame.as_ptr())
        };
        check(ret, "encoding a frame")
    }

    /// Calls `each` with every packet the encoder has ready.
    fn receive(
        &mut self,
        mut each: impl FnMut(&[u8]) -> Result<(), EncodeError>,
    ) -> Result<(), EncodeError> {
        loop {
            // SAFETY: the context is open and the packet ours (empty: unref'd after use).
            let ret =
                unsafe { ff::avcodec_receive_packet(self.ctx.as_ptr(), self.packet.as_ptr()) };
            if ret == ff::AVERROR(ff::EAGAIN) || ret == ff::AVERROR_EOF {
                return Ok(());
            }
            check(ret, "receiving a packet")?;
            // SAFETY: on success the packet holds `size` bytes at `data`, valid until unref.
            let result = unsafe {
                let p = &*self.packet.as_ptr();
                match (usize::try_from(p.size), p.data.is_null()) {
                    (Ok(size), false) => each(std::slice::from_raw_parts(p.data, size)),
                    (Ok(0), true) => Ok(()),
                    _ => Err(EncodeError::codec(
                        "aac",
                        "the encoder returned a bad packet",
                    )),
                }
            };
            // SAFETY: our packet, released for reuse.
            unsafe { ff::av_packet_unref(self.packet.as_ptr()) };
            result?;
        }
    }
}

impl Drop for Codec {
    fn drop(&mut self) {
        free(Some(self.ctx), Some(self.frame), Some(self.packet));
    }
}

/// FFmpeg logs to stderr by default, and its AAC encoder prints statistics ("Qavg: …") at
/// info level whenever one closes. Only errors get through; failures reach the caller as
/// [`EncodeError`]s anyway. This is process-wide, and nothing else here uses FFmpeg.
fn quiet_logging() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    // SAFETY: sets one global integer, which FFmpeg reads atomically enough for a log level.
    ONCE.call_once(|| unsafe { ff::av_log_set_level(ff::AV_LOG_ERROR) });
}

/// Frees whichever of the three exist.
fn free(
    ctx: Option<NonNull<ff::AVCodecContext>>,
    frame: Option<NonNull<ff::AVFrame>>,
    packet: Option<NonNull<ff::AVPacket>>,
) {
    if let Some(ctx) = ctx {
        let mut ptr = ctx.as_ptr();
        // SAFETY: our context (open or not), freed once; the function nulls `ptr`.
        unsafe { ff::avcodec_free_context(&mut ptr) };
    }
    if let Some(frame) = frame {
        let mut ptr = frame.as_ptr();
        // SAFETY: our frame, freed once with its buffers.
        unsafe { ff::av_frame_free(&mut ptr) };
    }
    if let Some(packet) = packet {
        let mut ptr = packet.as_ptr();
        // SAFETY: our packet, freed once.
        unsafe { ff::av_packet_free(&mut ptr) };
    }
}

fn check(ret: c_int, what: &str) -> Result<(), EncodeError> {
    if ret >= 0 {
        return Ok(());
    }
    let mut buf = [0 as std::ffi::c_char; 128];
    // SAFETY: `buf` is writable for its length; av_strerror always NUL-terminates it.
    unsafe { ff::av_strerror(ret, buf.as_mut_ptr(), buf.len()) };
    // SAFETY: NUL-terminated by av_strerror, within `buf`.
    let message = unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) }.to_string_lossy();
    Err(EncodeError::codec(
        "aac",
        format!("{what}: {message} ({ret})"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adts_header_fields() {
        // 22.05 kHz (index 7), 371-byte frame.
        let h = adts_header(7, 371);
        assert_eq!(h[0], 0xFF);
        assert_eq!(h[1] & 0xF6, 0xF0); // sync, MPEG-4, layer 0
        assert_eq!(h[1] & 1, 1); // no CRC
        assert_eq!(h[2] >> 6, 1); // AAC LC
        assert_eq!((h[2] >> 2) & 0xF, 7);
        let channels = ((h[2] & 1) << 2) | (h[3] >> 6);
        assert_eq!(channels, 1);
        let len = (u16::from(h[3] & 3) << 11) | (u16::from(h[4]) << 3) | u16::from(h[5] >> 5);
        assert_eq!(len, 371);
        assert_eq!(h[6] & 3, 0);
    }
}
