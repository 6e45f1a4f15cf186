//! A resampler for audio that arrives in pieces: the output is the same whichever way the
//! input was cut, with no seams at chunk boundaries.
//!
//! It runs rubato's FFT resampler one FFT block at a time, drops the resampler's delay from the
//! start and, at the end, pads with silence until exactly round(n · to / from) samples came
//! out, so the output lines up with the input like [`crate::audio::resample`]'s does.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler, WindowFunction};

use super::EncodeError;

/// Input frames per FFT block, roughly (rounded up to what the rate pair allows). This is
/// also about how much input is held back until more arrives or the stream ends.
const BLOCK: usize = 1024;

pub(super) struct StreamResampler {
    /// `None` when the rates are equal: samples pass through.
    fft: Option<Box<Fft<f32>>>,
    from: u32,
    to: u32,
    /// Input not yet resampled; shorter than one block between calls.
    pending: Vec<f32>,
    /// One block of output.
    block_out: Vec<f32>,
    /// Output samples still to drop: the resampler's delay.
    skip: usize,
    /// Input samples received.
    total_in: u64,
    /// Output samples handed out.
    total_out: u64,
}

impl StreamResampler {
    pub(super) fn new(from: u32, to: u32) -> Result<Self, EncodeError> {
        let fft = if from == to {
            None
        } else {
            let fft = Fft::<f32>::new_custom(
                from as usize,
                to as usize,
                block_len(from, to),
                1,
                1,
                WindowFunction::BlackmanHarris2,
                FixedSync::Both,
            )
            .map_err(|err| EncodeError::codec("resampler", err.to_string()))?;
            Some(Box::new(fft))
        };
        let (block_in, block_out, skip) = match &fft {
            Some(fft) => (
                fft.input_frames_next(),
                fft.output_frames_next(),
                fft.output_delay(),
            ),
            None => (0, 0, 0),
        };
        Ok(Self {
            fft,
            from,
            to,
            pending: Vec::with_capacity(block_in),
            block_out: vec![0.0; block_out],
            skip,
            total_in: 0,
            total_out: 0,
        })
    }

    /// Resamples `input`, appending what is ready to `out`.
    pub(super) fn push(
        &mut self,
        input: impl IntoIterator<Item = f32>,
        out: &mut Vec<f32>,
    ) -> Result<(), EncodeError> {
        let Some(fft) = self.fft.as_deref() else {
            let before = out.len();
            out.extend(input);
            self.total_in += (out.len() - before) as u64;
            self.total_out = self.total_in;
            return Ok(());
        };
        let block_in = fft.input_frames_next();
        for sample in input {
            self.pending.push(sample);
            self.total_in += 1;
            if self.pending.len() == block_in {
                self.run_block(out, usize::MAX)?;
            }
        }
        Ok(())
    }

    /// Resamples what is left, padding with silence, so that round(n · to / from) samples
    /// came out in all.
    pub(super) fn finish(mut self, out: &mut Vec<f32>) -> Result<(), EncodeError> {
        let Some(fft) = self.fft.as_deref() else {
            return Ok(());
        };
        let block_in = fft.input_frames_next();
        let want = expected_len(self.total_in, self.from, self.to);
        while self.total_out < want {
            self.pending.resize(block_in, 0.0);
            let left = usize::try_from(want - self.total_out).unwrap_or(usize::MAX);
            self.run_block(out, left)?;
        }
        Ok(())
    }

    /// Resamples the one block in `pending`, appending at most `limit` samples to `out`.
    fn run_block(&mut self, out: &mut Vec<f32>, limit: usize) -> Result<(), EncodeError> {
        let Some(fft) = self.fft.as_deref_mut() else {
            return Ok(());
        };
        let err = |err: &dyn std::fmt::Display| EncodeError::codec("resampler", err.to_string());
        let frames_in = self.pending.len();
        let frames_out = self.block_out.len();
        let input = InterleavedSlice::new(&self.pending[..], 1, frames_in).map_err(|e| err(&e))?;
        let mut output = InterleavedSlice::new_mut(&mut self.block_out[..], 1, frames_out)
            .map_err(|e| err(&e))?;
        let (_, produced) = fft
            .process_into_buffer(&input, &mut output, None)
            .map_err(|e| err(&e))?;
        self.pending.clear();
        let produced = &self.block_out[..produced.min(frames_out)];
        let skipped = self.skip.min(produced.len());
        self.skip -= skipped;
        let ready = &produced[skipped..];
        let ready = &ready[..ready.len().min(limit)];
        out.extend_from_slice(ready);
        self.total_out += ready.len() as u64;
        Ok(())
    }
}

/// About [`BLOCK`] input frames, a whole number of the smallest FFT block the rate pair
/// allows, and an even number of them: rubato's filter is centred on sample `len / 2`, so an
/// odd block would shift the output by half a sample against the delay it reports.
fn block_len(from: u32, to: u32) -> usize {
    let (from, to) = (from as usize, to as usize);
    let gcd = gcd(from, to);
    let unit = from / gcd;
    let units = BLOCK.div_ceil(unit).max(1);
    (units + units % 2) * unit
}

fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a.max(1)
}

/// round(n · to / from).
pub(super) fn expected_len(n: u64, from: u32, to: u32) -> u64 {
    if from == 0 {
        return 0;
    }
    let (n, from, to) = (u128::from(n), u128::from(from), u128::from(to));
    u64::try_from((n * to + from / 2) / from).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(freq: f32, rate: u32, n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| 0.5 * (std::f32::consts::TAU * freq * i as f32 / rate as f32).sin())
            .collect()
    }

    fn run(from: u32, to: u32, input: &[f32], cuts: &[usize]) -> Vec<f32> {
        let mut r = StreamResampler::new(from, to).unwrap();
        let mut out = Vec::new();
        let mut rest = input;
        let mut i = 0;
        while !rest.is_empty() {
            let n = cuts[i % cuts.len()].min(rest.len());
            r.push(rest[..n].iter().copied(), &mut out).unwrap();
            rest = &rest[n..];
            i += 1;
        }
        r.finish(&mut out).unwrap();
        out
    }

    #[test]
    fn chunking_does_not_change_the_output() {
        for (from, to) in [(22_050, 24_000), (16_000, 48_000), (44_100, 24_000)] {
            let input = sine(440.0, from, 30_001);
            let whole = run(from, to, &input, &[usize::MAX]);
            let cut = run(from, to, &input, &[1, 37, 4_410, 20_000]);
            assert_eq!(whole, cut, "{from} -> {to}");
            assert_eq!(whole.len() as u64, expected_len(30_001, from, to));
        }
    }

    #[test]
    fn matches_the_whole_buffer_resampler_in_level_and_alignment() {
        // A click must come out at the same place: the delay is trimmed.
        let mut input = vec![0.0; 22_050];
        input[11_025] = 1.0;
        let out = run(22_050, 48_000, &input, &[1_000]);
        assert_eq!(out.len(), 48_000);
        let peak = out
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
            .map(|(i, _)| i);
        assert_eq!(peak, Some(24_000));
    }

    #[test]
    fn clicks_stay_centred() {
        for (from, to) in [
            (22_050, 48_000),
            (22_050, 24_000),
            (16_000, 48_000),
            (48_000, 16_000),
            (44_100, 22_050),
        ] {
            let mut input = vec![0.0; from as usize];
            input[from as usize / 2] = 1.0;
            let out = run(from, to, &input, &[333]);
            let c = to as usize / 2;
            let (before, after) = (out[c - 1], out[c + 1]);
            assert!(out[c] > before && out[c] > after, "{from} -> {to}");
            assert!(
                (before - after).abs() < 1e-4,
                "{from} -> {to}: {before} {after}"
            );
        }
    }

    #[test]
    fn same_rate_passes_through() {
        let input = sine(440.0, 24_000, 1_000);
        assert_eq!(run(24_000, 24_000, &input, &[7]), input);
    }

    #[test]
    fn empty_and_tiny_inputs() {
        assert!(run(22_050, 24_000, &[], &[1]).is_empty());
        assert_eq!(run(16_000, 48_000, &[0.5], &[1]).len(), 3);
        assert_eq!(run(48_000, 16_000, &[0.5], &[1]).len(), 0);
    }
}
