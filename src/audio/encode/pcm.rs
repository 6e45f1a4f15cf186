//! `pcm`: raw signed 16-bit little-endian mono at 24 kHz, no header, as OpenAI defines it.

use super::resampler::StreamResampler;
use super::{EncodeError, to_f32, to_i16};

/// OpenAI's `pcm` is always 24 kHz.
pub(super) const RATE: u32 = 24_000;

pub(super) struct PcmEncoder {
    /// `None` for 24 kHz input, which passes through bit for bit.
    resampler: Option<StreamResampler>,
    scratch: Vec<f32>,
}

impl PcmEncoder {
    pub(super) fn new(input_rate: u32) -> Result<Self, EncodeError> {
        let resampler = if input_rate == RATE {
            None
        } else {
            Some(StreamResampler::new(input_rate, RATE)?)
        };
        Ok(Self {
            resampler,
            scratch: Vec::new(),
        })
    }

    pub(super) fn push(&mut self, samples: &[i16], out: &mut Vec<u8>) -> Result<(), EncodeError> {
        match &mut self.resampler {
            None => write_s16le(samples.iter().copied(), out),
            Some(resampler) => {
                self.scratch.clear();
                resampler.push(samples.iter().copied().map(to_f32), &mut self.scratch)?;
                write_s16le(self.scratch.iter().copied().map(to_i16), out);
            }
        }
        Ok(())
    }

    pub(super) fn finish(mut self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        if let Some(resampler) = self.resampler {
            self.scratch.clear();
            resampler.finish(&mut self.scratch)?;
            write_s16le(self.scratch.iter().copied().map(to_i16), out);
        }
        Ok(())
    }
}

fn write_s16le(samples: impl Iterator<Item = i16>, out: &mut Vec<u8>) {
    out.reserve(samples.size_hint().0 * 2);
    for sample in samples {
        out.extend_from_slice(&sample.to_le_bytes());
    }
}
