//! Writes a whisper.cpp ggml file in whisper.cpp's own layout: the hparams, the Slaney mel
//! filter bank, the token bytes, then every tensor (f16 matrices, f32 vectors, convolution
//! biases as `(n, 1)`, positional embeddings in f32).

use std::io::Write;

use super::tensor::OutType;
use super::{ConvertError, Hparams, Source};
use crate::models::ggml::{self, LayoutTensor};

const GGML_MAGIC: u32 = 0x6767_6d6c;
/// whisper.cpp's model type for "mostly f16".
const FTYPE_F16: i32 = 1;
const SAMPLE_RATE: f64 = 16_000.0;
const N_FFT: usize = 400;
const FFT_BINS: usize = N_FFT / 2 + 1;

/// Writes `source` to `out`; returns the bytes written.
pub fn write(source: &mut Source, out: &mut impl Write) -> Result<u64, ConvertError> {
    let mut written = Counting {
        inner: out,
        bytes: 0,
    };
    let h = source.hparams;
    written.put_u32(GGML_MAGIC)?;
    for value in [
        h.n_vocab,
        h.n_audio_ctx,
        h.n_state,
        h.n_audio_head,
        h.n_audio_layer,
        h.n_text_ctx,
        h.n_state,
        h.n_text_head,
        h.n_text_layer,
        h.n_mels,
        FTYPE_F16,
    ] {
        written.put_i32(value)?;
    }

    let filters = mel_filters(h.n_mels as usize);
    written.put_i32(h.n_mels)?;
    written.put_i32(FFT_BINS as i32)?;
    for value in filters {
        written.put_bytes(&value.to_le_bytes())?;
    }

    written.put_i32(i32::try_from(source.vocab.len()).unwrap_or(i32::MAX))?;
    for token in &source.vocab {
        written.put_u32(u32::try_from(token.len()).unwrap_or(u32::MAX))?;
        written.put_bytes(token)?;
    }

    let layout = ggml::whisper_layout(&h.info(FTYPE_F16))
        .map_err(|error| ConvertError::Invalid(format!("the model's dimensions: {error}")))?;
    for tensor in &layout {
        write_tensor(tensor, source, &mut written)?;
    }
    written.inner.flush()?;
    Ok(written.bytes)
}

fn write_tensor(
    tensor: &LayoutTensor,
    source: &mut Source,
    out: &mut Counting<'_, impl Write>,
) -> Result<(), ConvertError> {
    let part = source
        .tensors
        .get(&tensor.name)
        .ok_or_else(|| ConvertError::Invalid(format!("the source has no `{}`", tensor.name)))?;
    // ggml's `ne` is the numpy shape reversed.
    let mut wanted: Vec<usize> = tensor.ne.iter().rev().map(|&d| d as usize).collect();
    wanted.retain(|&d| d != 1);
    if part.squeezed_shape() != wanted {
        return Err(ConvertError::Invalid(format!(
            "`{}` has shape {:?} in the source, expected {:?}",
            tensor.name,
            part.squeezed_shape(),
            wanted
        )));
    }
    let out_type = match tensor.ggml_type {
        0 => OutType::F32,
        1 => OutType::F16,
        other => {
            return Err(ConvertError::Unsupported(format!(
                "writing ggml type {other} for `{}`",
                tensor.name
            )));
        }
    };
    let data = source.reader.read(part, out_type)?;
    let name = tensor.name.as_bytes();
    out.put_i32(tensor.ne.len() as i32)?;
    out.put_i32(name.len() as i32)?;
    out.put_i32(tensor.ggml_type)?;
    for &dim in &tensor.ne {
        out.put_i32(i32::try_from(dim).unwrap_or(i32::MAX))?;
    }
    out.put_bytes(name)?;
    out.put_bytes(&data)
}

struct Counting<'a, W: Write> {
    inner: &'a mut W,
    bytes: u64,
}

impl<W: Write> Counting<'_, W> {
    fn put_bytes(&mut self, bytes: &[u8]) -> Result<(), ConvertError> {
        self.inner.write_all(bytes)?;
        self.bytes += bytes.len() as u64;
        Ok(())
    }

    fn put_i32(&mut self, value: i32) -> Result<(), ConvertError> {
        self.put_bytes(&value.to_le_bytes())
    }

    fn put_u32(&mut self, value: u32) -> Result<(), ConvertError> {
        self.put_bytes(&value.to_le_bytes())
    }
}

impl Hparams {
    fn info(&self, ftype: i32) -> ggml::WhisperModelInfo {
        ggml::WhisperModelInfo {
            n_vocab: self.n_vocab,
            n_audio_ctx: self.n_audio_ctx,
            n_audio_state: self.n_state,
            n_audio_head: self.n_audio_head,
            n_audio_layer: self.n_audio_layer,
            n_text_ctx: self.n_text_ctx,
            n_text_state: self.n_state,
            n_text_head: self.n_text_head,
            n_text_layer: self.n_text_layer,
            n_mels: self.n_mels,
            ftype,
            n_tensors: 0,
            file_bytes: 0,
        }
    }
}

/// Hertz to mels on the Slaney scale: linear below 1 kHz, logarithmic above.
fn hz_to_mel(hz: f64) -> f64 {
    let linear = 200.0 / 3.0;
    let log_step = 6.4f64.ln() / 27.0;
    if hz >= 1000.0 {
        1000.0 / linear + (hz / 1000.0).ln() / log_step
    } else {
        hz / linear
    }
}

fn mel_to_hz(mel: f64) -> f64 {
    let linear = 200.0 / 3.0;
    let log_step = 6.4f64.ln() / 27.0;
    let log_start = 1000.0 / linear;
    if mel >= log_start {
        1000.0 * (log_step * (mel - log_start)).exp()
    } else {
        mel * linear
    }
}

/// The mel filter bank Whisper was trained with (librosa's `filters.mel(sr=16000, n_fft=400,
/// n_mels)`: Slaney scale and area normalisation), `n_mels × 201`, row-major.
fn mel_filters(n_mels: usize) -> Vec<f32> {
    let nyquist = SAMPLE_RATE / 2.0;
    let top = hz_to_mel(nyquist);
    let edges: Vec<f64> = (0..n_mels + 2)
        .map(|i| mel_to_hz(top * i as f64 / (n_mels + 1) as f64))
        .collect();
    let bins: Vec<f64> = (0..FFT_BINS)
        .map(|i| nyquist * i as f64 / (FFT_BINS - 1) as f64)
        .collect();
    let mut filters = Vec::with_capacity(n_mels * FFT_BINS);
    for m in 0..n_mels {
        let (low, centre, high) = (edges[m], edges[m + 1], edges[m + 2]);
        let norm = 2.0 / (high - low);
        for &freq in &bins {
            let rising = (freq - low) / (centre - low);
            let falling = (high - freq) / (high - centre);
            filters.push((rising.min(falling).max(0.0) * norm) as f32);
        }
    }
    filters
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mel_scale_round_trips_and_bends_at_1_khz() {
        for hz in [0.0, 300.0, 999.0, 1000.0, 4000.0, 8000.0] {
            assert!((mel_to_hz(hz_to_mel(hz)) - hz).abs() < 1e-9, "{hz}");
        }
        assert!((hz_to_mel(1000.0) - 15.0).abs() < 1e-12);
    }

    #[test]
    fn mel_filters_match_librosa() {
        // librosa 0.11's `filters.mel(sr=16000, n_fft=400, n_mels=N)`, as Whisper's
        // mel_filters.npz holds them.
        for (n_mels, m, bin, expected) in [
            (80, 0, 1, 0.024_862_595_f32),
            (80, 1, 1, 0.001_990_822),
            (80, 1, 2, 0.022_871_772),
            (80, 10, 11, 0.004_954_375),
            (80, 40, 43, 0.014_735_566),
            (80, 79, 188, 0.001_299_398),
            (80, 79, 198, 0.000_897_518),
            (128, 0, 1, 0.012_373_987),
            (128, 64, 43, 0.018_091_518),
            (128, 127, 193, 0.002_758_648),
        ] {
            let value = mel_filters(n_mels)[m * FFT_BINS + bin];
            assert!(
                (value - expected).abs() < 1e-7,
                "{n_mels} mels, filter {m} bin {bin}: {value}"
            );
        }
        // Each filter is a triangle: zero outside its band, positive inside.
        let filters = mel_filters(80);
        assert_eq!(filters.len(), 80 * 201);
        assert_eq!(filters[0], 0.0);
        assert_eq!(filters[10 * FFT_BINS + 14], 0.0);
        assert!((0..80).all(|m| (0..201).any(|bin| filters[m * FFT_BINS + bin] > 0.0)));
    }
}
