//! CTranslate2 Whisper models (faster-whisper, speaches): `model.bin`, `config.json` and
//! `vocabulary.txt` or `vocabulary.json`.
//!
//! `model.bin` is CTranslate2's own container: `u32 version`, then (version ≥ 2) the spec name
//! and revision, `u32` variable count and per variable its name, `u8` rank, `u32` dims, dtype
//! (version ≥ 4: `u8` type id, `u32` byte count; before: `u8` item size, `u32` element count)
//! and data; then (version ≥ 3) aliases. Strings are `u16` length (with the NUL) and bytes.
//! Attention projections are fused (self: q|k|v rows, cross: k|v rows); int8/int16 weights
//! come with `weight_scale` (value × scale).

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use super::tensor::{DType, Part, Stored, TensorReader};
use super::vocab;
use super::{ConvertError, Hparams, Source, SourceFormat};

/// The newest container version this reader knows (CTranslate2 4.x writes 6).
const MAX_VERSION: u32 = 6;
/// More variables than any Whisper spec has (large-v3: under 1,000).
const MAX_VARIABLES: u32 = 100_000;
const MAX_RANK: u8 = 8;
/// Whisper's attention heads are 64 wide in every size; used when a model omits `num_heads`.
const HEAD_DIM: i32 = 64;

pub fn open(dir: &Path) -> Result<Source, ConvertError> {
    let path = dir.join("model.bin");
    let file = File::open(&path)?;
    let len = file.metadata()?.len();
    let variables = read_variables(BufReader::new(file), len)?;
    let mut reader = TensorReader::new(vec![File::open(&path)?]);
    let hparams = hparams(&variables, &mut reader)?;
    let tensors = map_tensors(&variables, &hparams)?;
    let vocab = read_vocabulary(dir)?;
    Ok(Source {
        format: SourceFormat::CTranslate2,
        hparams,
        vocab: vocab::file_tokens(&vocab)?,
        tensors,
        reader,
    })
}

/// Bytes of `model.bin` that [`check_prefix`] needs: the version and the spec name.
pub const PREFIX_BYTES: usize = 64;

/// Checks the first bytes of a `model.bin` (up to [`PREFIX_BYTES`]): a CTranslate2 container
/// holding a Whisper model, so that a download can stop before the weights.
pub fn check_prefix(prefix: &[u8]) -> Result<(), ConvertError> {
    let not_ct2 = || ConvertError::NotAModel("model.bin is not a CTranslate2 model".into());
    let version = prefix
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_le_bytes)
        .ok_or_else(not_ct2)?;
    if version == 0 || version > MAX_VERSION {
        return Err(not_ct2());
    }
    if version < 2 {
        // No spec name before version 2: the conversion decides.
        return Ok(());
    }
    let len = prefix
        .get(4..6)
        .and_then(|b| b.try_into().ok())
        .map(u16::from_le_bytes)
        .ok_or_else(not_ct2)? as usize;
    let name = prefix.get(6..6 + len).ok_or_else(not_ct2)?;
    let name = name.strip_suffix(&[0]).unwrap_or(name);
    if name == b"WhisperSpec" {
        Ok(())
    } else {
        Err(ConvertError::Unsupported(format!(
            "a CTranslate2 `{}` model (only Whisper models can be converted)",
            String::from_utf8_lossy(name)
        )))
    }
}

/// Reads the variable table of `model.bin`, skipping the data.
fn read_variables(
    mut file: BufReader<File>,
    len: u64,
) -> Result<HashMap<String, Stored>, ConvertError> {
    let mut input = Input {
        file: &mut file,
        pos: 0,
        len,
    };
    let version = input.u32()?;
    if version == 0 || version > MAX_VERSION {
        return Err(ConvertError::NotAModel(format!(
            "model.bin is not a CTranslate2 model (container version {version}; this reader \
             knows 1 to {MAX_VERSION})"
        )));
    }
    if version >= 2 {
        let spec = input.string()?;
        let _revision = input.u32()?;
        if spec != "WhisperSpec" {
            return Err(ConvertError::Unsupported(format!(
                "a CTranslate2 `{spec}` model (only Whisper models can be converted)"
            )));
        }
    }
    let count = input.u32()?;
    if count > MAX_VARIABLES {
        return Err(ConvertError::Invalid(format!(
            "model.bin claims {count} variables"
        )));
    }
    let mut variables = HashMap::new();
    for _ in 0..count {
        let name = input.string()?;
        let rank = input.u8()?;
        if rank > MAX_RANK {
            return Err(ConvertError::Invalid(format!(
                "variable `{name}` has rank {rank}"
            )));
        }
        let shape: Vec<usize> = (0..rank)
            .map(|_| input.u32().map(|d| d as usize))
            .collect::<Result<_, _>>()?;
        let (dtype, bytes) = if version >= 4 {
            let id = input.u8()?;
            let dtype = dtype(id).ok_or_else(|| {
                ConvertError::Unsupported(format!("variable `{name}` has data type {id}"))
            })?;
            (dtype, u64::from(input.u32()?))
        } else {
            let item = input.u8()?;
            let dtype = match item {
                1 => DType::I8,
                2 => DType::F16,
                4 => DType::F32,
                _ => {
                    return Err(ConvertError::Unsupported(format!(
                        "variable `{name}` has {item}-byte items"
                    )));
                }
            };
            (dtype, u64::from(input.u32()?) * u64::from(item))
        };
        let elements = shape
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64));
        if elements.and_then(|e| e.checked_mul(dtype.size() as u64)) != Some(bytes) {
            return Err(ConvertError::Invalid(format!(
                "variable `{name}` has {bytes} bytes for shape {shape:?} of {}",
                dtype.name()
            )));
        }
        let offset = input.pos;
        input.skip(bytes, &name)?;
        variables.insert(
            name,
            Stored {
                file: 0,
                offset,
                shape,
                dtype,
            },
        );
    }
    Ok(variables)
}

fn dtype(id: u8) -> Option<DType> {
    Some(match id {
        0 => DType::F32,
        1 => DType::I8,
        2 => DType::I16,
        3 => DType::I32,
        4 => DType::F16,
        5 => DType::BF16,
        _ => return None,
    })
}

/// A bounded reader over the container's header fields.
struct Input<'a> {
    file: &'a mut BufReader<File>,
    pos: u64,
    len: u64,
}

impl Input<'_> {
    fn bytes<const N: usize>(&mut self) -> Result<[u8; N], ConvertError> {
        if self.pos + N as u64 > self.len {
            return Err(truncated());
        }
        let mut buf = [0u8; N];
        self.file.read_exact(&mut buf)?;
        self.pos += N as u64;
        Ok(buf)
    }

    fn u8(&mut self) -> Result<u8, ConvertError> {
        Ok(self.bytes::<1>()?[0])
    }

    fn u32(&mut self) -> Result<u32, ConvertError> {
        Ok(u32::from_le_bytes(self.bytes()?))
    }

    fn string(&mut self) -> Result<String, ConvertError> {
        let len = u16::from_le_bytes(self.bytes()?) as u64;
        if self.pos + len > self.len {
            return Err(truncated());
        }
        let mut buf = vec![0u8; len as usize];
        self.file.read_exact(&mut buf)?;
        self.pos += len;
        // The length counts the terminating NUL.
        if buf.last() == Some(&0) {
            buf.pop();
        }
        String::from_utf8(buf)
            .map_err(|_| ConvertError::Invalid("model.bin has a name that is not UTF-8".into()))
    }

    fn skip(&mut self, bytes: u64, name: &str) -> Result<(), ConvertError> {
        if self.pos + bytes > self.len {
            return Err(ConvertError::Invalid(format!(
                "model.bin ends inside variable `{name}`"
            )));
        }
        self.file.seek(SeekFrom::Current(bytes as i64))?;
        self.pos += bytes;
        Ok(())
    }
}

fn truncated() -> ConvertError {
    ConvertError::Invalid("model.bin ends inside its variable table".into())
}

fn get<'a>(variables: &'a HashMap<String, Stored>, name: &str) -> Result<&'a Stored, ConvertError> {
    variables
        .get(name)
        .ok_or_else(|| ConvertError::Invalid(format!("model.bin has no `{name}`")))
}

fn dim(stored: &Stored, index: usize, name: &str) -> Result<i32, ConvertError> {
    stored
        .shape
        .get(index)
        .and_then(|&d| i32::try_from(d).ok())
        .ok_or_else(|| ConvertError::Invalid(format!("`{name}` has shape {:?}", stored.shape)))
}

fn hparams(
    variables: &HashMap<String, Stored>,
    reader: &mut TensorReader,
) -> Result<Hparams, ConvertError> {
    let conv1 = get(variables, "encoder/conv1/weight")?;
    let embeddings = get(variables, "decoder/embeddings/weight")?;
    let n_state = dim(conv1, 0, "encoder/conv1/weight")?;
    let layers = |stack: &str| {
        (0..)
            .take_while(|i| {
                variables.contains_key(&format!("{stack}/layer_{i}/ffn/linear_0/weight"))
            })
            .count() as i32
    };
    let mut heads = |stack: &str| -> Result<i32, ConvertError> {
        // `num_heads` is stored from spec revision 3 on (an integer scalar).
        let Some(stored) = variables.get(&format!("{stack}/num_heads")) else {
            return Ok(n_state / HEAD_DIM);
        };
        let heads = reader.integer(stored)?;
        i32::try_from(heads)
            .ok()
            .filter(|&h| h > 0)
            .ok_or_else(|| ConvertError::Invalid(format!("{stack}/num_heads is {heads}")))
    };
    Ok(Hparams {
        n_vocab: dim(embeddings, 0, "decoder/embeddings/weight")?,
        n_audio_ctx: dim(
            get(variables, "encoder/position_encodings/encodings")?,
            0,
            "encoder positions",
        )?,
        n_state,
        n_audio_head: heads("encoder")?,
        n_audio_layer: layers("encoder"),
        n_text_ctx: dim(
            get(variables, "decoder/position_encodings/encodings")?,
            0,
            "decoder positions",
        )?,
        n_text_head: heads("decoder")?,
        n_text_layer: layers("decoder"),
        n_mels: dim(conv1, 1, "encoder/conv1/weight")?,
    })
}

/// Collects the ggml tensors from CTranslate2's variables.
struct Mapper<'a> {
    variables: &'a HashMap<String, Stored>,
    tensors: HashMap<String, Part>,
}

impl Mapper<'_> {
    fn scale(&self, name: &str) -> Option<Stored> {
        self.variables.get(&format!("{name}_scale")).cloned()
    }

    fn whole(&mut self, to: String, from: &str) -> Result<(), ConvertError> {
        let stored = get(self.variables, from)?.clone();
        let part = Part::whole(stored, self.scale(from));
        self.tensors.insert(to, part);
        Ok(())
    }

    fn linear(&mut self, to: &str, from: &str) -> Result<(), ConvertError> {
        self.whole(format!("{to}.weight"), &format!("{from}/weight"))?;
        self.whole(format!("{to}.bias"), &format!("{from}/bias"))
    }

    fn norm(&mut self, to: &str, from: &str) -> Result<(), ConvertError> {
        self.whole(format!("{to}.weight"), &format!("{from}/gamma"))?;
        self.whole(format!("{to}.bias"), &format!("{from}/beta"))
    }

    /// A fused projection: `to[i]` gets rows `i·n..(i+1)·n` of `from`.
    fn fused(&mut self, to: &[String], from: &str, n: usize) -> Result<(), ConvertError> {
        let (weight, bias) = (format!("{from}/weight"), format!("{from}/bias"));
        let weight_stored = get(self.variables, &weight)?.clone();
        let bias_stored = get(self.variables, &bias)?.clone();
        for (index, proj) in to.iter().enumerate() {
            let rows = index * n..(index + 1) * n;
            let part = Part::rows(weight_stored.clone(), self.scale(&weight), rows.clone());
            self.tensors.insert(format!("{proj}.weight"), part);
            // Whisper's key projection has no bias; CTranslate2 stores zeros there.
            if !proj.ends_with(".key") {
                let part = Part::rows(bias_stored.clone(), self.scale(&bias), rows);
                self.tensors.insert(format!("{proj}.bias"), part);
            }
        }
        Ok(())
    }
}

fn map_tensors(
    variables: &HashMap<String, Stored>,
    h: &Hparams,
) -> Result<HashMap<String, Part>, ConvertError> {
    let n = h.n_state as usize;
    let mut map = Mapper {
        variables,
        tensors: HashMap::new(),
    };
    for (to, from) in [
        ("encoder.conv1.weight", "encoder/conv1/weight"),
        ("encoder.conv1.bias", "encoder/conv1/bias"),
        ("encoder.conv2.weight", "encoder/conv2/weight"),
        ("encoder.conv2.bias", "encoder/conv2/bias"),
        (
            "encoder.positional_embedding",
            "encoder/position_encodings/encodings",
        ),
        (
            "decoder.token_embedding.weight",
            "decoder/embeddings/weight",
        ),
        (
            "decoder.positional_embedding",
            "decoder/position_encodings/encodings",
        ),
    ] {
        map.whole(to.into(), from)?;
    }
    map.norm("encoder.ln_post", "encoder/layer_norm")?;
    map.norm("decoder.ln", "decoder/layer_norm")?;
    for (stack, layers) in [("encoder", h.n_audio_layer), ("decoder", h.n_text_layer)] {
        for layer in 0..layers {
            let from = format!("{stack}/layer_{layer}");
            let to = format!("{stack}.blocks.{layer}");
            let qkv = ["query", "key", "value"].map(|p| format!("{to}.attn.{p}"));
            map.fused(&qkv, &format!("{from}/self_attention/linear_0"), n)?;
            map.linear(
                &format!("{to}.attn.out"),
                &format!("{from}/self_attention/linear_1"),
            )?;
            map.norm(
                &format!("{to}.attn_ln"),
                &format!("{from}/self_attention/layer_norm"),
            )?;
            map.linear(&format!("{to}.mlp.0"), &format!("{from}/ffn/linear_0"))?;
            map.linear(&format!("{to}.mlp.2"), &format!("{from}/ffn/linear_1"))?;
            map.norm(&format!("{to}.mlp_ln"), &format!("{from}/ffn/layer_norm"))?;
            if stack == "decoder" {
                let cross = format!("{to}.cross_attn");
                map.linear(
                    &format!("{cross}.query"),
                    &format!("{from}/attention/linear_0"),
                )?;
                let kv = ["key", "value"].map(|p| format!("{cross}.{p}"));
                map.fused(&kv, &format!("{from}/attention/linear_1"), n)?;
                map.linear(
                    &format!("{cross}.out"),
                    &format!("{from}/attention/linear_2"),
                )?;
                map.norm(
                    &format!("{cross}_ln"),
                    &format!("{from}/attention/layer_norm"),
                )?;
            }
        }
    }
    Ok(map.tensors)
}

/// Token strings by id from `vocabulary.json` (a list) or `vocabulary.txt` (a line each).
fn read_vocabulary(dir: &Path) -> Result<Vec<Option<String>>, ConvertError> {
    let json = dir.join("vocabulary.json");
    if json.is_file() {
        let text = std::fs::read_to_string(&json)?;
        let tokens: Vec<String> = serde_json::from_str(&text).map_err(|e| {
            ConvertError::Invalid(format!("vocabulary.json is not a list of strings: {e}"))
        })?;
        return Ok(tokens.into_iter().map(Some).collect());
    }
    let text = std::fs::read_to_string(dir.join("vocabulary.txt"))?;
    // One token per line, each line ended by '\n'; the multilingual empty token is a blank line.
    let body = text.strip_suffix('\n').unwrap_or(&text);
    Ok(body.split('\n').map(|t| Some(t.to_string())).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefix(version: u32, spec: &str) -> Vec<u8> {
        let mut bytes = version.to_le_bytes().to_vec();
        bytes.extend(((spec.len() + 1) as u16).to_le_bytes());
        bytes.extend(spec.as_bytes());
        bytes.push(0);
        bytes.extend(3u32.to_le_bytes());
        bytes
    }

    #[test]
    fn the_prefix_tells_whisper_from_other_ctranslate2_models() {
        assert!(check_prefix(&prefix(6, "WhisperSpec")).is_ok());
        let other = check_prefix(&prefix(6, "TransformerDecoderModelSpec")).unwrap_err();
        assert!(
            other.to_string().contains("`TransformerDecoderModelSpec`"),
            "{other}"
        );
        assert!(check_prefix(&prefix(99, "WhisperSpec")).is_err());
        assert!(check_prefix(b"{\"a\"").is_err());
        assert!(check_prefix(&[6, 0, 0]).is_err());
        assert!(check_prefix(&prefix(6, "WhisperSpec")[..10]).is_err());
        // Version 1 has no spec name: the conversion decides.
        assert!(check_prefix(&1u32.to_le_bytes()).is_ok());
    }
}
