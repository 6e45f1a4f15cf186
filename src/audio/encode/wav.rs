//! `wav`: a 44-byte RIFF/WAVE header for 16-bit PCM mono at the input rate, then the samples.
//!
//! The length is unknown while streaming, so the RIFF and `data` sizes are 0xFFFFFFFF, as
//! streaming encoders (FFmpeg on a pipe, OpenAI) write them; readers then read to the end.

/// Size of the header written before the samples.
pub(super) const HEADER_LEN: usize = 44;

pub(super) struct WavEncoder {
    rate: u32,
    header_written: bool,
}

impl WavEncoder {
    pub(super) fn new(rate: u32) -> Self {
        Self {
            rate,
            header_written: false,
        }
    }

    pub(super) fn push(&mut self, samples: &[i16], out: &mut Vec<u8>) {
        self.write_header(out);
        out.reserve(samples.len() * 2);
        for sample in samples {
            out.extend_from_slice(&sample.to_le_bytes());
        }
    }

    pub(super) fn finish(mut self, out: &mut Vec<u8>) {
        self.write_header(out);
    }

    fn write_header(&mut self, out: &mut Vec<u8>) {
        if std::mem::replace(&mut self.header_written, true) {
            return;
        }
        const CHANNELS: u16 = 1;
        const BITS: u16 = 16;
        let block_align = CHANNELS * BITS / 8;
        let byte_rate = self.rate * u32::from(block_align);
        let unknown = u32::MAX;
        out.reserve(HEADER_LEN);
        out.extend_from_slice(b"RIFF");
        out.extend_from_slice(&unknown.to_le_bytes());
        out.extend_from_slice(b"WAVE");
        out.extend_from_slice(b"fmt ");
        out.extend_from_slice(&16u32.to_le_bytes());
        out.extend_from_slice(&1u16.to_le_bytes()); // WAVE_FORMAT_PCM
        out.extend_from_slice(&CHANNELS.to_le_bytes());
        out.extend_from_slice(&self.rate.to_le_bytes());
        out.extend_from_slice(&byte_rate.to_le_bytes());
        out.extend_from_slice(&block_align.to_le_bytes());
        out.extend_from_slice(&BITS.to_le_bytes());
        out.extend_from_slice(b"data");
        out.extend_from_slice(&unknown.to_le_bytes());
    }
}
