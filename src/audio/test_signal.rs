//! Measurements of test tones shared by the decoder and encoder tests.

/// The frequency of a tone from its zero crossings.
pub fn pitch(samples: &[f32], rate: u32) -> f64 {
    let crossings = samples
        .windows(2)
        .filter(|w| (w[0] < 0.0) != (w[1] < 0.0))
        .count();
    crossings as f64 / 2.0 / (samples.len() as f64 / f64::from(rate))
}
