//! Sample-rate conversion of mono PCM with rubato's FFT (fixed-ratio) resampler.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler, WindowFunction};

use super::Pcm;

/// Input frames per FFT block, roughly (rounded up to what the rate pair allows, see
/// [`block_len`]). Longer blocks give a steeper anti-aliasing filter and less overhead per sample.
const BLOCK: usize = 2048;
/// Blocks per call into rubato, to amortise the per-call work.
const BLOCKS_PER_CALL: usize = 8;

/// Converts `pcm` to `target_rate`. The output has round(n · target / source) samples and is
/// aligned with the input (rubato's filter delay is trimmed off).
pub fn resample(pcm: Pcm, target_rate: u32) -> Pcm {
    if pcm.sample_rate == target_rate {
        return pcm;
    }
    let len = output_len(pcm.samples.len(), pcm.sample_rate, target_rate);
    let samples = if len == 0 {
        Vec::new()
    } else {
        fft(&pcm.samples, pcm.sample_rate, target_rate)
            .unwrap_or_else(|| linear(&pcm.samples, pcm.sample_rate, target_rate))
    };
    Pcm {
        samples: fit(samples, len),
        sample_rate: target_rate,
    }
}

/// round(n · to / from), or 0 when either rate is 0.
fn output_len(n: usize, from: u32, to: u32) -> usize {
    if from == 0 || to == 0 {
        return 0;
    }
    let (n, from, to) = (n as u128, u128::from(from), u128::from(to));
    usize::try_from((n * to + from / 2) / from).unwrap_or(usize::MAX)
}

/// Rubato's FFT resampler over the whole buffer; `None` if rubato refuses (it should not).
fn fft(input: &[f32], from: u32, to: u32) -> Option<Vec<f32>> {
    let block = block_len(from, to);
    // Whole blocks per call, but no more than the input needs (a huge coprime rate pair has
    // blocks longer than a short input).
    let blocks = (input.len() / block).clamp(1, BLOCKS_PER_CALL);
    let mut resampler = Fft::<f32>::new_custom(
        from as usize,
        to as usize,
        block * blocks,
        blocks,
        1,
        WindowFunction::BlackmanHarris2,
        FixedSync::Input,
    )
    .ok()?;
    let buffer = InterleavedSlice::new(input, 1, input.len()).ok()?;
    let out = resampler.process_all(&buffer, input.len(), None).ok()?;
    Some(out.take_data())
}

/// Input frames per FFT block: about `BLOCK`, and an *even* number of rubato's minimum blocks
/// (`from / gcd` input frames, `to / gcd` output frames).
///
/// Rubato centres its filter on input frame `⌊in/2⌋` of a block of `in` frames and trims
/// `⌊out/2⌋` output frames of delay. Both halves are exact only when `in` and `out` are even;
/// with an odd block (48 kHz → 16 kHz rounded 2048 up to 2049 → 683) everything came out a
/// third of a sample early, and 44.1 kHz / 22.05 kHz (2205 → 800 / 1600) 0.2–0.4 sample
/// off. An even count of minimum blocks makes both sizes even for every rate pair.
fn block_len(from: u32, to: u32) -> usize {
    let min_in = (from / gcd(from, to)) as usize;
    let count = BLOCK.div_ceil(min_in).next_multiple_of(2);
    count * min_in
}

fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Linear interpolation: only a fallback should rubato ever refuse a rate pair.
fn linear(input: &[f32], from: u32, to: u32) -> Vec<f32> {
    let step = f64::from(from) / f64::from(to);
    let last = input.len().saturating_sub(1);
    (0..output_len(input.len(), from, to))
        .map(|i| {
            let pos = i as f64 * step;
            let at = (pos as usize).min(last);
            let frac = (pos - at as f64) as f32;
            let next = input.get(at + 1).copied().unwrap_or(input[at]);
            input[at] + (next - input[at]) * frac
        })
        .collect()
}

/// Pads with silence or truncates to exactly `len` samples.
fn fit(mut samples: Vec<f32>, len: usize) -> Vec<f32> {
    samples.resize(len, 0.0);
    samples
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f32::consts::TAU;

    fn sine(freq: f32, rate: u32, seconds: f32, amp: f32) -> Pcm {
        let n = (seconds * rate as f32).round() as usize;
        let samples = (0..n)
            .map(|i| amp * (TAU * freq * i as f32 / rate as f32).sin())
            .collect();
        Pcm {
            samples,
            sample_rate: rate,
        }
    }

    fn rms(x: &[f32]) -> f32 {
        (x.iter().map(|v| v * v).sum::<f32>() / x.len().max(1) as f32).sqrt()
    }

    /// Sign changes, ignoring near-silent samples at the edges.
    fn zero_crossings(x: &[f32]) -> usize {
        x.windows(2)
            .filter(|w| (w[0] < 0.0) != (w[1] < 0.0))
            .count()
    }

    #[test]
    fn same_rate_is_identity() {
        let pcm = sine(440.0, 16_000, 0.1, 0.5);
        assert_eq!(resample(pcm.clone(), 16_000), pcm);
    }

    #[test]
    fn length_is_rounded_ratio() {
        assert_eq!(output_len(44_100, 44_100, 16_000), 16_000);
        assert_eq!(output_len(1, 44_100, 16_000), 0);
        assert_eq!(output_len(2, 44_100, 16_000), 1);
        assert_eq!(output_len(12_345, 12_345, 16_000), 16_000);
        assert_eq!(output_len(7, 0, 16_000), 0);
        for (rate, n) in [
            (8_000, 8_001),
            (44_100, 44_101),
            (48_000, 3),
            (192_000, 999_999),
        ] {
            let pcm = Pcm {
                samples: vec![0.1; n],
                sample_rate: rate,
            };
            let want = output_len(n, rate, 16_000);
            assert_eq!(resample(pcm, 16_000).samples.len(), want, "{rate} Hz, {n}");
        }
    }

    #[test]
    fn keeps_frequency_and_level_across_rates() {
        let rates = [
            8_000, 11_025, 12_345, 22_050, 44_100, 48_000, 96_000, 192_000, 384_000,
        ];
        for rate in rates {
            let out = resample(sine(1_000.0, rate, 1.0, 0.5), 16_000);
            assert_eq!(out.sample_rate, 16_000);
            assert_eq!(out.samples.len(), 16_000, "{rate} Hz");
            // 1 kHz for 1 s crosses zero ~2000 times.
            let crossings = zero_crossings(&out.samples);
            assert!(
                (1_995..=2_005).contains(&crossings),
                "{rate} Hz: {crossings}"
            );
            let level = rms(&out.samples[800..15_200]);
            assert!((level - 0.3536).abs() < 0.01, "{rate} Hz: rms {level}");
        }
    }

    #[test]
    fn upsamples_too() {
        let out = resample(sine(1_000.0, 8_000, 0.5, 0.5), 48_000);
        assert_eq!(out.samples.len(), 24_000);
        let crossings = zero_crossings(&out.samples);
        assert!((995..=1_005).contains(&crossings), "{crossings}");
    }

    #[test]
    fn no_leading_delay() {
        // A click at 0.25 s must stay at 0.25 s.
        let mut samples = vec![0.0; 48_000];
        samples[12_000] = 1.0;
        let out = resample(
            Pcm {
                samples,
                sample_rate: 48_000,
            },
            16_000,
        );
        let peak = out
            .samples
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
            .map(|(i, _)| i);
        assert_eq!(peak, Some(4_000));
    }

    /// The index of the largest magnitude and how lopsided its two neighbours are (0 for a
    /// peak centred on the sample; a fractional shift makes one neighbour clearly larger).
    fn peak(x: &[f32]) -> (usize, f32) {
        let (at, top) = x
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
            .map(|(i, v)| (i, v.abs()))
            .unwrap();
        let skew = (x[at - 1] - x[at + 1]).abs() / top;
        (at, skew)
    }

    #[test]
    fn click_lands_on_its_sample() {
        // A click at 0.5 s must come out at sample 8000 of 16 kHz, centred (no fractional
        // shift) from every common rate; 48k and 44.1k used to land a third / a fifth early.
        for rate in [48_000, 44_100, 22_050, 8_000, 96_000, 32_000, 24_000] {
            let mut samples = vec![0.0; rate as usize];
            samples[rate as usize / 2] = 1.0;
            let out = resample(
                Pcm {
                    samples,
                    sample_rate: rate,
                },
                16_000,
            );
            let (at, skew) = peak(&out.samples);
            assert_eq!(at, 8_000, "{rate} Hz");
            assert!(skew < 1e-3, "{rate} Hz: neighbours differ by {skew}");
        }
    }

    #[test]
    fn blocks_are_even_on_both_sides() {
        for (from, to) in [
            (48_000, 16_000),
            (44_100, 16_000),
            (22_050, 16_000),
            (8_000, 16_000),
            (767_999, 16_000),
            (16_000, 48_000),
        ] {
            let block = block_len(from, to);
            let out = block as u64 * u64::from(to) / u64::from(from);
            assert_eq!(out * u64::from(from), block as u64 * u64::from(to));
            assert!(
                block.is_multiple_of(2) && out.is_multiple_of(2),
                "{from} → {to}: {block} → {out}"
            );
            assert!(block >= BLOCK, "{from} → {to}: {block}");
        }
    }

    #[test]
    fn filters_what_would_alias() {
        // 12 kHz does not fit under 8 kHz Nyquist: it must vanish, not fold to 4 kHz.
        let out = resample(sine(12_000.0, 48_000, 0.5, 0.5), 16_000);
        assert!(rms(&out.samples[400..7_600]) < 0.005);
    }

    #[test]
    fn tiny_and_empty_inputs() {
        let one = Pcm {
            samples: vec![0.5],
            sample_rate: 8_000,
        };
        let out = resample(one, 16_000);
        assert_eq!((out.samples.len(), out.sample_rate), (2, 16_000));
        let out = resample(
            Pcm {
                samples: vec![0.5],
                sample_rate: 44_100,
            },
            16_000,
        );
        assert!(out.samples.is_empty());
        let out = resample(
            Pcm {
                samples: Vec::new(),
                sample_rate: 48_000,
            },
            16_000,
        );
        assert_eq!((out.samples.len(), out.sample_rate), (0, 16_000));
        let out = resample(
            Pcm {
                samples: vec![0.1; 10],
                sample_rate: 0,
            },
            16_000,
        );
        assert!(out.samples.is_empty());
    }

    #[test]
    fn odd_rate_short_input() {
        // A large, coprime rate makes one FFT block longer than the input.
        let out = resample(sine(440.0, 767_999, 0.01, 0.5), 16_000);
        assert_eq!(out.samples.len(), 160);
        assert!(out.samples.iter().all(|x| x.is_finite()));
    }

    #[test]
    fn linear_fallback_matches_length() {
        let input = vec![0.0, 1.0, 0.0, -1.0];
        assert_eq!(linear(&input, 8_000, 16_000).len(), 8);
        assert_eq!(linear(&input, 8_000, 16_000)[1], 0.5);
    }
}
