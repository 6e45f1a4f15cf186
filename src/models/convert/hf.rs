//! Hugging Face transformers Whisper checkpoints: `config.json`, `model.safetensors` (or shards
//! named by `model.safetensors.index.json`), and `vocab.json` + `added_tokens.json` or
//! `tokenizer.json`. Fine-tunes of `openai/whisper-*` share this layout.
//!
//! A safetensors file is a `u64` header length, a JSON header (`name → {dtype, shape,
//! data_offsets}`) and the data; only the header is read up front.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::Read;
use std::path::Path;

use serde::Deserialize;

use super::tensor::{DType, Part, Stored, TensorReader};
use super::vocab;
use super::{ConvertError, Hparams, Source, SourceFormat};

/// A safetensors header larger than this is not a Whisper checkpoint's.
const MAX_HEADER_BYTES: u64 = 100 << 20;
/// JSON files (config, vocabularies) larger than this are refused unread.
const MAX_JSON_BYTES: u64 = 64 << 20;

#[derive(Debug, Deserialize)]
struct Config {
    model_type: Option<String>,
    d_model: i32,
    encoder_layers: i32,
    encoder_attention_heads: i32,
    decoder_layers: i32,
    decoder_attention_heads: i32,
    num_mel_bins: i32,
    vocab_size: i32,
    max_source_positions: i32,
    max_target_positions: i32,
}

#[derive(Debug, Deserialize)]
struct HeaderEntry {
    dtype: String,
    shape: Vec<usize>,
    data_offsets: [u64; 2],
}

pub fn open(dir: &Path) -> Result<Source, ConvertError> {
    let config: Config = read_json(&dir.join("config.json"))?;
    if let Some(kind) = config.model_type.as_deref().filter(|k| *k != "whisper") {
        return Err(ConvertError::Unsupported(format!(
            "a transformers `{kind}` model (only Whisper models can be converted)"
        )));
    }
    let hparams = Hparams {
        n_vocab: config.vocab_size,
        n_audio_ctx: config.max_source_positions,
        n_state: config.d_model,
        n_audio_head: config.encoder_attention_heads,
        n_audio_layer: config.encoder_layers,
        n_text_ctx: config.max_target_positions,
        n_text_head: config.decoder_attention_heads,
        n_text_layer: config.decoder_layers,
        n_mels: config.num_mel_bins,
    };
    let (files, stored) = read_checkpoint(dir)?;
    let tensors = map_tensors(&stored, &hparams)?;
    let tokens = read_tokens(dir)?;
    Ok(Source {
        format: SourceFormat::Transformers,
        hparams,
        vocab: vocab::file_tokens(&tokens)?,
        tensors,
        reader: TensorReader::new(files),
    })
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, ConvertError> {
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let len = std::fs::metadata(path)?.len();
    if len > MAX_JSON_BYTES {
        return Err(ConvertError::Invalid(format!("{name} is {len} bytes")));
    }
    let text = std::fs::read_to_string(path)?;
    serde_json::from_str(&text).map_err(|e| ConvertError::Invalid(format!("{name}: {e}")))
}

/// Opens the checkpoint's files and reads every tensor's place in them.
fn read_checkpoint(dir: &Path) -> Result<(Vec<File>, HashMap<String, Stored>), ConvertError> {
    #[derive(Deserialize)]
    struct Index {
        weight_map: BTreeMap<String, String>,
    }
    let shards: Vec<String> = if dir.join("model.safetensors").is_file() {
        vec!["model.safetensors".into()]
    } else {
        let index: Index = read_json(&dir.join("model.safetensors.index.json"))?;
        let mut shards: Vec<String> = index.weight_map.into_values().collect();
        shards.sort();
        shards.dedup();
        shards
    };
    let mut files = Vec::new();
    let mut stored = HashMap::new();
    for (index, shard) in shards.iter().enumerate() {
        // Shard names come from a file: keep them inside the directory.
        if shard.contains('/') || shard.contains('\\') || shard.starts_with('.') {
            return Err(ConvertError::Invalid(format!("shard name `{shard}`")));
        }
        let mut file = File::open(dir.join(shard))?;
        stored.extend(read_header(&mut file, index, shard)?);
        files.push(file);
    }
    Ok((files, stored))
}

fn read_header(
    file: &mut File,
    index: usize,
    shard: &str,
) -> Result<HashMap<String, Stored>, ConvertError> {
    let len = file.metadata()?.len();
    let mut size = [0u8; 8];
    file.read_exact(&mut size)
        .map_err(|_| ConvertError::Invalid(format!("{shard} is not a safetensors file")))?;
    let header_len = u64::from_le_bytes(size);
    if header_len > MAX_HEADER_BYTES || 8 + header_len > len {
        return Err(ConvertError::Invalid(format!(
            "{shard} is not a safetensors file (header of {header_len} bytes)"
        )));
    }
    let mut header = vec![0u8; header_len as usize];
    file.read_exact(&mut header)?;
    let entries: BTreeMap<String, serde_json::Value> = serde_json::from_slice(&header)
        .map_err(|e| ConvertError::Invalid(format!("{shard}'s header: {e}")))?;
    let data_start = 8 + header_len;
    let mut stored = HashMap::new();
    for (name, value) in entries {
        if name == "__metadata__" {
            continue;
        }
        let entry: HeaderEntry = serde_json::from_value(value)
            .map_err(|e| ConvertError::Invalid(format!("{shard}: tensor `{name}`: {e}")))?;
        let dtype = match entry.dtype.as_str() {
            "F32" => DType::F32,
            "F16" => DType::F16,
            "BF16" => DType::BF16,
            other => {
                return Err(ConvertError::Unsupported(format!(
                    "tensor `{name}` in {shard} is {other} (float32, float16 and bfloat16 convert)"
                )));
            }
        };
        let [begin, end] = entry.data_offsets;
        let elements = entry
            .shape
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64));
        let bytes = elements.and_then(|e| e.checked_mul(dtype.size() as u64));
        if begin > end || Some(end - begin) != bytes || data_start + end > len {
            return Err(ConvertError::Invalid(format!(
                "tensor `{name}` in {shard}: offsets {begin}..{end} do not fit shape {:?} of {}",
                entry.shape, entry.dtype
            )));
        }
        stored.insert(
            name,
            Stored {
                file: index,
                offset: data_start + begin,
                shape: entry.shape,
                dtype,
            },
        );
    }
    Ok(stored)
}

fn map_tensors(
    stored: &HashMap<String, Stored>,
    h: &Hparams,
) -> Result<HashMap<String, Part>, ConvertError> {
    // `WhisperForConditionalGeneration` prefixes `model.`; a bare `WhisperModel` does not.
    let prefix = if stored.contains_key("model.encoder.conv1.weight") {
        "model."
    } else {
        ""
    };
    let mut tensors = HashMap::new();
    let mut put = |to: String, from: &str| -> Result<(), ConvertError> {
        let name = format!("{prefix}{from}");
        let tensor = stored
            .get(&name)
            .ok_or_else(|| ConvertError::Invalid(format!("the checkpoint has no `{name}`")))?;
        tensors.insert(to, Part::whole(tensor.clone(), None));
        Ok(())
    };
    for (to, from) in [
        ("encoder.conv1.weight", "encoder.conv1.weight"),
        ("encoder.conv1.bias", "encoder.conv1.bias"),
        ("encoder.conv2.weight", "encoder.conv2.weight"),
        ("encoder.conv2.bias", "encoder.conv2.bias"),
        (
            "encoder.positional_embedding",
            "encoder.embed_positions.weight",
        ),
        ("encoder.ln_post.weight", "encoder.layer_norm.weight"),
        ("encoder.ln_post.bias", "encoder.layer_norm.bias"),
        (
            "decoder.token_embedding.weight",
            "decoder.embed_tokens.weight",
        ),
        (
            "decoder.positional_embedding",
            "decoder.embed_positions.weight",
        ),
        ("decoder.ln.weight", "decoder.layer_norm.weight"),
        ("decoder.ln.bias", "decoder.layer_norm.bias"),
    ] {
        put(to.into(), from)?;
    }
    for (stack, layers) in [("encoder", h.n_audio_layer), ("decoder", h.n_text_layer)] {
        let mut attentions = vec![("attn", "self_attn")];
        if stack == "decoder" {
            attentions.push(("cross_attn", "encoder_attn"));
        }
        for layer in 0..layers {
            let to = format!("{stack}.blocks.{layer}");
            let from = format!("{stack}.layers.{layer}");
            for (whisper, hf) in &attentions {
                for (proj, hf_proj) in [
                    ("query", "q_proj"),
                    ("key", "k_proj"),
                    ("value", "v_proj"),
                    ("out", "out_proj"),
                ] {
                    put(
                        format!("{to}.{whisper}.{proj}.weight"),
                        &format!("{from}.{hf}.{hf_proj}.weight"),
                    )?;
                    if proj != "key" {
                        put(
                            format!("{to}.{whisper}.{proj}.bias"),
                            &format!("{from}.{hf}.{hf_proj}.bias"),
                        )?;
                    }
                }
                for part in ["weight", "bias"] {
                    put(
                        format!("{to}.{whisper}_ln.{part}"),
                        &format!("{from}.{hf}_layer_norm.{part}"),
                    )?;
                }
            }
            for part in ["weight", "bias"] {
                put(format!("{to}.mlp.0.{part}"), &format!("{from}.fc1.{part}"))?;
                put(format!("{to}.mlp.2.{part}"), &format!("{from}.fc2.{part}"))?;
                put(
                    format!("{to}.mlp_ln.{part}"),
                    &format!("{from}.final_layer_norm.{part}"),
                )?;
            }
        }
    }
    Ok(tensors)
}

/// Token strings by id: `vocab.json` with `added_tokens.json`, else `tokenizer.json`'s model
/// vocabulary and added tokens.
fn read_tokens(dir: &Path) -> Result<Vec<Option<String>>, ConvertError> {
    let mut by_token: HashMap<String, u64>;
    if dir.join("vocab.json").is_file() {
        by_token = read_json(&dir.join("vocab.json"))?;
        if dir.join("added_tokens.json").is_file() {
            let added: HashMap<String, u64> = read_json(&dir.join("added_tokens.json"))?;
            by_token.extend(added);
        }
    } else if dir.join("tokenizer.json").is_file() {
        #[derive(Deserialize)]
        struct Added {
            id: u64,
            content: String,
        }
        #[derive(Deserialize)]
        struct Model {
            vocab: HashMap<String, u64>,
        }
        #[derive(Deserialize)]
        struct Tokenizer {
            model: Model,
            #[serde(default)]
            added_tokens: Vec<Added>,
        }
        let tokenizer: Tokenizer = read_json(&dir.join("tokenizer.json"))?;
        by_token = tokenizer.model.vocab;
        by_token.extend(
            tokenizer
                .added_tokens
                .into_iter()
                .map(|a| (a.content, a.id)),
        );
    } else {
        return Err(ConvertError::NotAModel(
            "the checkpoint has no vocabulary (vocab.json or tokenizer.json)".into(),
        ));
    }
    let mut by_id = vec![None; vocab::FILE_TOKENS];
    for (token, id) in by_token {
        if let Some(slot) = usize::try_from(id).ok().and_then(|id| by_id.get_mut(id)) {
            *slot = Some(token);
        }
    }
    Ok(by_id)
}
