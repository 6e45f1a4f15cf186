//! `hearsay convert`: Whisper checkpoints in other formats (CTranslate2 / faster-whisper,
//! Hugging Face transformers) written as whisper.cpp ggml files. The output is validated by
//! [`super::ggml`] before it is renamed into place, so a file that would crash whisper.cpp is
//! never left behind.

mod ct2;
mod hf;
mod tensor;
mod vocab;
mod writer;

use std::collections::HashMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use super::ggml::{self, ModelFileError, WhisperModelInfo};
pub use ct2::{PREFIX_BYTES as CTRANSLATE2_PREFIX_BYTES, check_prefix as check_ctranslate2_prefix};
use tensor::{Part, TensorReader};

/// The formats `hearsay convert` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceFormat {
    /// A CTranslate2 model directory, as faster-whisper and speaches use.
    CTranslate2,
    /// A Hugging Face transformers checkpoint (`config.json` + safetensors).
    Transformers,
}

impl SourceFormat {
    pub fn name(self) -> &'static str {
        match self {
            SourceFormat::CTranslate2 => "CTranslate2 (faster-whisper)",
            SourceFormat::Transformers => "Hugging Face transformers",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    NotAModel(String),
    #[error("unsupported: {0}")]
    Unsupported(String),
    #[error("{0}")]
    Invalid(String),
    #[error("the converted file fails validation: {0}")]
    Validation(#[from] ModelFileError),
}

/// A Whisper model's dimensions, read from its source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hparams {
    pub n_vocab: i32,
    pub n_audio_ctx: i32,
    pub n_state: i32,
    pub n_audio_head: i32,
    pub n_audio_layer: i32,
    pub n_text_ctx: i32,
    pub n_text_head: i32,
    pub n_text_layer: i32,
    pub n_mels: i32,
}

impl Hparams {
    fn check(&self) -> Result<(), ConvertError> {
        if ![51864, 51865, 51866].contains(&self.n_vocab) {
            return Err(ConvertError::Unsupported(format!(
                "a vocabulary of {} tokens (Whisper models have 51864, 51865 or 51866)",
                self.n_vocab
            )));
        }
        Ok(())
    }
}

/// An opened source: its dimensions, its token bytes, and where each ggml tensor comes from.
pub struct Source {
    pub format: SourceFormat,
    pub hparams: Hparams,
    /// Token bytes for ids `0..50257`, as whisper.cpp's files store them.
    pub vocab: Vec<Vec<u8>>,
    /// ggml tensor name → its data in the source.
    tensors: HashMap<String, Part>,
    reader: TensorReader,
}

/// What a conversion wrote.
#[derive(Debug, Clone)]
pub struct Converted {
    pub format: SourceFormat,
    pub info: WhisperModelInfo,
}

/// Which format `path` is in, if it is a Whisper checkpoint hearsay can convert. `path` is a
/// model directory, or a file in one (`model.bin`, `model.safetensors`).
pub fn detect(path: &Path) -> Option<SourceFormat> {
    let dir = source_dir(path);
    let has = |name: &str| dir.join(name).is_file();
    if !has("config.json") {
        return None;
    }
    if has("model.bin") && (has("vocabulary.txt") || has("vocabulary.json")) {
        return Some(SourceFormat::CTranslate2);
    }
    if has("model.safetensors") || has("model.safetensors.index.json") {
        return Some(SourceFormat::Transformers);
    }
    None
}

fn source_dir(path: &Path) -> PathBuf {
    if path.is_file() {
        path.parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
    } else {
        path.to_path_buf()
    }
}

/// Opens a source directory for conversion.
pub fn open(path: &Path) -> Result<Source, ConvertError> {
    let dir = source_dir(path);
    if !dir.is_dir() {
        return Err(ConvertError::NotAModel(format!(
            "`{}` is not a model directory",
            path.display()
        )));
    }
    let source = match detect(&dir) {
        Some(SourceFormat::CTranslate2) => ct2::open(&dir)?,
        Some(SourceFormat::Transformers) => hf::open(&dir)?,
        None if dir.join("pytorch_model.bin").is_file() => {
            return Err(ConvertError::Unsupported(
                "PyTorch pickle checkpoints (pytorch_model.bin); save the model with \
                 safetensors (`model.save_pretrained(dir, safe_serialization=True)`) first"
                    .into(),
            ));
        }
        None => {
            return Err(ConvertError::NotAModel(format!(
                "`{}` holds no Whisper checkpoint hearsay can convert: expected a CTranslate2 \
                 directory (config.json, model.bin, vocabulary.txt or .json) or a transformers \
                 one (config.json, model.safetensors, vocab.json or tokenizer.json)",
                dir.display()
            )));
        }
    };
    source.hparams.check()?;
    Ok(source)
}

/// Converts the checkpoint at `src` into the ggml file `out`. The file is written beside `out`
/// under a temporary name, validated, and renamed into place; on any failure nothing is left.
pub fn convert(src: &Path, out: &Path) -> Result<Converted, ConvertError> {
    let mut source = open(src)?;
    let file_name = out
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| ConvertError::Invalid(format!("`{}` is not a file name", out.display())))?;
    let partial = out.with_file_name(format!(".{file_name}.converting-{}", std::process::id()));
    let result = write_validated(&mut source, &partial).and_then(|info| {
        std::fs::rename(&partial, out)?;
        Ok(info)
    });
    match result {
        Ok(info) => Ok(Converted {
            format: source.format,
            info,
        }),
        Err(error) => {
            let _ = std::fs::remove_file(&partial);
            Err(error)
        }
    }
}

/// `hearsay convert`: one line on success, one error line (with its cause) on failure.
pub fn run(src: &Path, out: &Path) -> anyhow::Result<()> {
    let converted = convert(src, out)
        .map_err(|error| anyhow::anyhow!("cannot convert `{}`: {error}", src.display()))?;
    let info = &converted.info;
    println!(
        "converted {} ({}, {}{}) into {} ({} bytes)",
        src.display(),
        converted.format.name(),
        info.size_name(),
        if info.is_multilingual() {
            ", multilingual"
        } else {
            ", English-only"
        },
        out.display(),
        info.file_bytes
    );
    Ok(())
}

fn write_validated(source: &mut Source, path: &Path) -> Result<WhisperModelInfo, ConvertError> {
    let file = File::create(path)?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    writer::write(source, &mut out)?;
    let file = out.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    drop(file);
    Ok(ggml::validate_whisper_model(path)?)
}
