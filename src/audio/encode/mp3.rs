//! `mp3`: LAME through the system `libmp3lame` (LGPL-2, linked dynamically; Debian's
//! `libmp3lame-dev` to build), mono, constant bitrate.
//!
//! The output rate is the input rate when MP3 has it (MPEG-1 32–48 kHz, MPEG-2 16–24 kHz,
//! MPEG-2.5 8–12 kHz), else the nearest, to which LAME resamples. Bitrates: 32 kbit/s for
//! MPEG-2.5, 64 kbit/s for MPEG-2 (Piper's 16 and 22.05 kHz, 24 kHz), 96 kbit/s for MPEG-1.
//! OpenAI sends about 160 kbit/s at 24 kHz; for speech band-limited to 8–12 kHz, 64 kbit/s
//! mono is already transparent, and CBR keeps the byte rate steady for streaming.
//!
//! A streamed MP3 cannot start with a Xing/LAME tag (its padding count is only known at the
//! end), so no tag is written and decoders cannot trim: they output LAME's encoder delay
//! (576 samples) plus their own decoder delay at the start, and the last frame's padding (up
//! to one frame: 576 samples for MPEG-2 and 2.5, 1152 for MPEG-1) at the end.

use std::ffi::{c_int, c_short, c_uchar};
use std::ptr::NonNull;
use std::sync::Mutex;

use super::{EncodeError, nearest_rate};

/// Every sample rate MP3 has.
const RATES: [u32; 9] = [
    8_000, 11_025, 12_000, 16_000, 22_050, 24_000, 32_000, 44_100, 48_000,
];
/// Samples handed to LAME per call, which bounds the output buffer.
const CHUNK: usize = 8_192;
/// LAME's MONO mode (`MPEG_mode` in lame.h).
const MODE_MONO: c_int = 3;
/// LAME's algorithm quality, 0 (best, slowest) to 9; 2 is "near-best, not too slow".
const QUALITY: c_int = 2;

/// The sample rate of the MP3 made from `input_rate` audio.
pub(super) fn output_rate(input_rate: u32) -> u32 {
    nearest_rate(&RATES, input_rate)
}

/// The constant bitrate in kbit/s for an MP3 at `rate`.
fn bitrate(rate: u32) -> c_int {
    if rate < 16_000 {
        32 // MPEG-2.5
    } else if rate < 32_000 {
        64 // MPEG-2
    } else {
        96 // MPEG-1
    }
}

/// Worst-case output of encoding `n` samples: 1.25 n + 7200, as lame.h prescribes.
fn buffer_len(n: usize) -> usize {
    n + n / 4 + 7_200
}

#[repr(C)]
struct LameGlobalFlags {
    _opaque: [u8; 0],
}

#[link(name = "mp3lame")]
unsafe extern "C" {
    fn lame_init() -> *mut LameGlobalFlags;
    fn lame_set_in_samplerate(gfp: *mut LameGlobalFlags, rate: c_int) -> c_int;
    fn lame_set_out_samplerate(gfp: *mut LameGlobalFlags, rate: c_int) -> c_int;
    fn lame_set_num_channels(gfp: *mut LameGlobalFlags, channels: c_int) -> c_int;
    fn lame_set_mode(gfp: *mut LameGlobalFlags, mode: c_int) -> c_int;
    fn lame_set_brate(gfp: *mut LameGlobalFlags, kbps: c_int) -> c_int;
    fn lame_set_quality(gfp: *mut LameGlobalFlags, quality: c_int) -> c_int;
    fn lame_set_bWriteVbrTag(gfp: *mut LameGlobalFlags, write: c_int) -> c_int;
    fn lame_set_write_id3tag_automatic(gfp: *mut LameGlobalFlags, write: c_int);
    fn lame_init_params(gfp: *mut LameGlobalFlags) -> c_int;
    fn lame_encode_buffer(
        gfp: *mut LameGlobalFlags,
        buffer_l: *const c_short,
        buffer_r: *const c_short,
        nsamples: c_int,
        mp3buf: *mut c_uchar,
        mp3buf_size: c_int,
    ) -> c_int;
    fn lame_encode_flush(gfp: *mut LameGlobalFlags, mp3buf: *mut c_uchar, size: c_int) -> c_int;
    fn lame_close(gfp: *mut LameGlobalFlags) -> c_int;
}

/// LAME fills shared static tables while initialising an encoder, so one at a time.
static INIT: Mutex<()> = Mutex::new(());

pub(super) struct Mp3Encoder {
    lame: NonNull<LameGlobalFlags>,
    buf: Vec<u8>,
}

// SAFETY: a LAME encoder is heap state with no thread affinity; it is only reached through
// `&mut self` or by value, so never from two threads at once.
unsafe impl Send for Mp3Encoder {}

impl Mp3Encoder {
    pub(super) fn new(input_rate: u32) -> Result<Self, EncodeError> {
        let out_rate = output_rate(input_rate);
        let _guard = INIT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        // SAFETY: lame_init takes nothing and returns null or an encoder we own.
        let lame = NonNull::new(unsafe { lame_init() })
            .ok_or_else(|| EncodeError::codec("mp3", "lame_init failed"))?;
        // Owned from here on, so an error below closes it.
        let encoder = Self {
            lame,
            buf: Vec::new(),
        };
        let gfp = lame.as_ptr();
        let rate = |r: u32| c_int::try_from(r).unwrap_or(c_int::MAX);
        // SAFETY: `gfp` is a valid encoder not yet initialised; these setters only store
        // values, which lame_init_params validates.
        let ret = unsafe {
            lame_set_in_samplerate(gfp, rate(input_rate));
            lame_set_out_samplerate(gfp, rate(out_rate));
            lame_set_num_channels(gfp, 1);
            lame_set_mode(gfp, MODE_MONO);
            lame_set_brate(gfp, bitrate(out_rate));
            lame_set_quality(gfp, QUALITY);
            lame_set_bWriteVbrTag(gfp, 0);
            lame_set_write_id3tag_automatic(gfp, 0);
            lame_init_params(gfp)
        };
        if ret < 0 {
            return Err(EncodeError::codec(
                "mp3",
                format!("lame_init_params failed ({ret}) for {input_rate} Hz"),
            ));
        }
        Ok(encoder)
    }

    pub(super) fn push(&mut self, samples: &[i16], out: &mut Vec<u8>) -> Result<(), EncodeError> {
        for chunk in samples.chunks(CHUNK) {
            self.buf.resize(buffer_len(chunk.len()), 0);
            let size = c_int::try_from(self.buf.len()).unwrap_or(c_int::MAX);
            // SAFETY: the encoder is initialised; `chunk` holds `chunk.len()` (≤ CHUNK)
            // samples, read only (the right channel is ignored for one channel; passing the
            // same buffer keeps it valid anyway); `buf` is writable for `size` bytes, the
            // worst case lame.h gives for that many samples.
            let ret = unsafe {
                lame_encode_buffer(
                    self.lame.as_ptr(),
                    chunk.as_ptr(),
                    chunk.as_ptr(),
                    chunk.len() as c_int,
                    self.buf.as_mut_ptr(),
                    size,
                )
            };
            self.take(ret, "lame_encode_buffer", out)?;
        }
        Ok(())
    }

    pub(super) fn finish(mut self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        self.buf.resize(buffer_len(0), 0);
        let size = c_int::try_from(self.buf.len()).unwrap_or(c_int::MAX);
        // SAFETY: the encoder is initialised; `buf` is writable for `size` (7200) bytes, the
        // most a flush can write.
        let ret = unsafe { lame_encode_flush(self.lame.as_ptr(), self.buf.as_mut_ptr(), size) };
        self.take(ret, "lame_encode_flush", out)
    }

    /// Appends the `ret` bytes LAME wrote to `buf`, or turns a negative `ret` into an error.
    fn take(&self, ret: c_int, what: &str, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let n = usize::try_from(ret)
            .map_err(|_| EncodeError::codec("mp3", format!("{what} failed ({ret})")))?;
        let bytes = self
            .buf
            .get(..n)
            .ok_or_else(|| EncodeError::codec("mp3", format!("{what} overran its buffer")))?;
        out.extend_from_slice(bytes);
        Ok(())
    }
}

impl Drop for Mp3Encoder {
    fn drop(&mut self) {
        // SAFETY: the pointer came from lame_init and is closed only here.
        unsafe {
            lame_close(self.lame.as_ptr());
        }
    }
}
