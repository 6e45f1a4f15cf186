//! piper's conversion of a voice model's float output to 16-bit samples.

/// piper's conversion of one sentence's model output to 16-bit samples (`voice.py`, default
/// `normalize_audio=True`, volume 1), bit for bit: divide by the peak |x| (all zeros when the
/// peak is below 1e-8), clip to ±1, then `clip(x * 32767, ±32767)` truncated toward zero, all in
/// f32 arithmetic.
///
/// Not in piper (whose output is then undefined): non-finite samples do not count toward the
/// peak, NaN becomes 0 and ±inf becomes ±32767.
pub fn to_i16(audio: &[f32]) -> Vec<i16> {
    let peak = audio
        .iter()
        .filter(|x| x.is_finite())
        .fold(0.0f32, |peak, x| peak.max(x.abs()));
    // numpy compares the float32 peak with 1e-8 rounded to float32.
    if peak < 1e-8f32 {
        return vec![0; audio.len()];
    }
    audio
        .iter()
        .map(|&x| {
            let normalized = (x / peak).clamp(-1.0, 1.0);
            // `as` saturates and maps NaN to 0.
            (normalized * 32767.0f32).clamp(-32767.0, 32767.0) as i16
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_i16_normalizes_to_the_peak() {
        assert_eq!(to_i16(&[0.25, -0.5, 0.125]), [16383, -32767, 8191]);
        assert_eq!(to_i16(&[0.1]), [32767]);
        assert_eq!(to_i16(&[-3.0, 1.5]), [-32767, 16383]);
        assert!(to_i16(&[]).is_empty());
    }

    #[test]
    fn to_i16_peak_exactly_one_is_full_scale_and_truncates_toward_zero() {
        assert_eq!(
            to_i16(&[1.0, -1.0, 0.5, -0.5]),
            [32767, -32767, 16383, -16383]
        );
        // 0.99999 * 32767 = 32766.67…: truncated, not rounded.
        assert_eq!(to_i16(&[1.0, 0.99999]), [32767, 32766]);
        assert_eq!(to_i16(&[1.0, -0.99999]), [32767, -32766]);
        // Never -32768, which piper's clip never produces.
        assert!(
            to_i16(&[-1.0, 1.0, -0.999_999_9])
                .iter()
                .all(|&s| s >= -32767)
        );
    }

    #[test]
    fn to_i16_silence_and_tiny_peaks() {
        assert_eq!(to_i16(&[0.0; 4]), [0; 4]);
        assert_eq!(to_i16(&[-0.0, 0.0]), [0, 0]);
        // Below 1e-8 (as float32) is silence ...
        assert_eq!(to_i16(&[5e-9, -9.9e-9]), [0, 0]);
        let just_below = f32::from_bits(1e-8f32.to_bits() - 1);
        assert_eq!(to_i16(&[just_below]), [0]);
        // ... and from 1e-8 up it is normalized to full scale, like any other sound.
        assert_eq!(to_i16(&[1e-8, -5e-9]), [32767, -16383]);
        assert_eq!(to_i16(&[2e-8, -1e-8]), [32767, -16383]);
        // Subnormals.
        assert_eq!(to_i16(&[f32::from_bits(1)]), [0]);
    }

    #[test]
    fn to_i16_nan_and_infinity_do_not_panic() {
        assert_eq!(to_i16(&[f32::NAN, 0.5, -0.25]), [0, 32767, -16383]);
        assert_eq!(to_i16(&[f32::NAN; 3]), [0; 3]);
        assert_eq!(
            to_i16(&[f32::INFINITY, f32::NEG_INFINITY, 0.5]),
            [32767, -32767, 32767]
        );
    }

    #[test]
    fn to_i16_matches_piper_on_a_float32_sweep() {
        // Reference values computed with numpy 2 exactly as piper-tts 1.8.0's voice.py does:
        //   a = x / np.max(np.abs(x)); a = np.clip(a, -1, 1).astype(np.float32)
        //   np.clip(a * 32767.0, -32767, 32767).astype(np.int16)
        let audio = [
            0.3f32,
            -0.7,
            0.123_456_79,
            0.699_999_9,
            -0.000_01,
            0.5,
            -0.35,
        ];
        assert_eq!(
            to_i16(&audio),
            [14043, -32767, 5779, 32766, 0, 23405, -16383]
        );
    }
}
