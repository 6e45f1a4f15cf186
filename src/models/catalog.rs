//! The built-in model catalog that `hearsay pull` downloads from and `hearsay models` lists.
//!
//! The data lives in `src/models/catalog.toml`, embedded in the binary and parsed on first use.
//! Every file there carries its URL (pinned to a Hugging Face revision or tag), its size, its
//! sha256 and the source those numbers were read from. Catalog ids follow the upstream names:
//! whisper.cpp's file names without `ggml-` and `.bin` (`tiny`, `large-v3-turbo-q8_0`), the
//! Silero VAD likewise (`silero-v5.1.2`), and Piper's voice names (`en_US-lessac-medium`).
//!
//! A pulled model is saved under its catalog id, so the server's discovery gives it that same
//! id: whisper and VAD models as `ID.bin`, voices as `ID.onnx` plus `ID.onnx.json`.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use serde::Deserialize;

/// The catalog source, embedded at build time.
pub const CATALOG_TOML: &str = include_str!("catalog.toml");

/// What a catalog model is, as `hearsay models` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    /// A whisper.cpp ggml speech-to-text model.
    Whisper,
    /// A Silero voice-activity model in whisper.cpp's format.
    Vad,
    /// A Piper voice: `ID.onnx` and `ID.onnx.json`.
    Voice,
}

impl ModelKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ModelKind::Whisper => "whisper",
            ModelKind::Vad => "vad",
            ModelKind::Voice => "voice",
        }
    }
}

/// One file to download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogFile {
    /// The name it is saved under in the models directory.
    pub file_name: String,
    pub url: String,
    /// Exact size in bytes.
    pub size: u64,
    /// Lower-case hex sha256 of the whole file.
    pub sha256: String,
}

impl CatalogFile {
    /// The last path segment of the URL: the name upstream gives the file (`ggml-tiny.bin`).
    pub fn upstream_name(&self) -> &str {
        let path = self.url.split(['?', '#']).next().unwrap_or_default();
        path.rsplit('/').next().unwrap_or_default()
    }
}

/// A model that `hearsay pull ID` installs: one file, or two for a Piper voice (the config
/// first, so the voice is never found without it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogModel {
    pub id: String,
    pub kind: ModelKind,
    pub files: Vec<CatalogFile>,
}

impl CatalogModel {
    /// Total download size in bytes.
    pub fn size(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }
}

/// A parsed, validated catalog.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalog {
    models: Vec<CatalogModel>,
}

/// One `[[file]]` table of `catalog.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    model: String,
    kind: String,
    url: String,
    size: u64,
    sha256: String,
    // Recorded for reference; only sha256 and size are checked.
    #[allow(dead_code)]
    sha1: Option<String>,
    #[allow(dead_code)]
    md5: Option<String>,
    #[allow(dead_code)]
    in_download_script: Option<bool>,
    #[allow(dead_code)]
    source: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalog {
    #[serde(default)]
    file: Vec<RawFile>,
}

impl Catalog {
    /// The catalog built into the binary.
    pub fn builtin() -> anyhow::Result<&'static Catalog> {
        static BUILTIN: OnceLock<Result<Catalog, String>> = OnceLock::new();
        BUILTIN
            .get_or_init(|| Catalog::parse(CATALOG_TOML))
            .as_ref()
            .map_err(|e| anyhow::anyhow!("the built-in model catalog is invalid: {e}"))
    }

    /// A catalog from models built elsewhere (tests, other sources); validated like a parsed one.
    pub fn new(models: Vec<CatalogModel>) -> Result<Self, String> {
        let mut names = BTreeSet::new();
        let mut ids = BTreeSet::new();
        for model in &models {
            check_id(&model.id)?;
            if !ids.insert(model.id.as_str()) {
                return Err(format!("model `{}` appears twice", model.id));
            }
            if model.files.is_empty() {
                return Err(format!("model `{}` has no files", model.id));
            }
            for file in &model.files {
                check_file(&model.id, file)?;
                if !names.insert(file.file_name.as_str()) {
                    return Err(format!("two files are named `{}`", file.file_name));
                }
            }
        }
        Ok(Self { models })
    }

    /// Parses and validates catalog TOML (`[[file]]` tables with `model`, `kind`, `url`,
    /// `size`, `sha256`; `kind` is `whisper`, `vad`, `piper-model` or `piper-config`).
    pub fn parse(text: &str) -> Result<Self, String> {
        let raw: RawCatalog = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut models: Vec<CatalogModel> = Vec::new();
        for file in raw.file {
            let (kind, file_name, is_config) = match file.kind.as_str() {
                "whisper" => (ModelKind::Whisper, format!("{}.bin", file.model), false),
                "vad" => (ModelKind::Vad, format!("{}.bin", file.model), false),
                "piper-model" => (ModelKind::Voice, format!("{}.onnx", file.model), false),
                "piper-config" => (ModelKind::Voice, format!("{}.onnx.json", file.model), true),
                other => {
                    return Err(format!(
                        "model `{}`: unknown kind `{other}` (whisper, vad, piper-model, piper-config)",
                        file.model
                    ));
                }
            };
            let entry = CatalogFile {
                file_name,
                url: file.url,
                size: file.size,
                sha256: file.sha256.to_ascii_lowercase(),
            };
            match models.iter_mut().find(|m| m.id == file.model) {
                Some(model) if model.kind != kind => {
                    return Err(format!("model `{}` mixes kinds", file.model));
                }
                Some(model) if is_config => model.files.insert(0, entry),
                Some(model) => model.files.push(entry),
                None => models.push(CatalogModel {
                    id: file.model,
                    kind,
                    files: vec![entry],
                }),
            }
        }
        for model in &models {
            if model.kind == ModelKind::Voice {
                let has = |suffix: &str| model.files.iter().any(|f| f.file_name.ends_with(suffix));
                if model.files.len() != 2 || !has(".onnx") || !has(".onnx.json") {
                    return Err(format!(
                        "voice `{}` needs exactly one piper-model and one piper-config",
                        model.id
                    ));
                }
            } else if model.files.len() != 1 {
                return Err(format!("model `{}` has more than one file", model.id));
            }
        }
        Self::new(models)
    }

    pub fn models(&self) -> &[CatalogModel] {
        &self.models
    }

    /// The model `name` names: its id, or its upstream file name (`ggml-tiny.bin`,
    /// `ggml-tiny`, `en_US-lessac-medium.onnx`).
    pub fn get(&self, name: &str) -> Option<&CatalogModel> {
        let name = name.trim();
        let exact = |id: &str| self.models.iter().find(|m| m.id == id);
        if let Some(model) = exact(name) {
            return Some(model);
        }
        let mut stripped = name;
        for suffix in [".onnx.json", ".onnx", ".bin"] {
            stripped = stripped.strip_suffix(suffix).unwrap_or(stripped);
        }
        stripped = stripped.strip_prefix("ggml-").unwrap_or(stripped);
        exact(stripped)
    }

    /// Catalog ids close to `name` (typos, or a part of an id such as `large` or `lessac`),
    /// best first, at most eight.
    pub fn close_matches(&self, name: &str) -> Vec<&str> {
        let wanted = name.trim().to_lowercase();
        let wanted = wanted.strip_prefix("ggml-").unwrap_or(&wanted);
        let wanted = wanted.strip_suffix(".bin").unwrap_or(wanted);
        if wanted.is_empty() {
            return Vec::new();
        }
        let limit = (wanted.chars().count() / 3).max(2);
        let mut scored: Vec<(usize, &str)> = self
            .models
            .iter()
            .filter_map(|model| {
                let id = model.id.to_lowercase();
                let distance = levenshtein(wanted, &id);
                if distance <= limit {
                    Some((distance, model.id.as_str()))
                } else if id.contains(wanted) {
                    Some((limit + 1 + id.len() - wanted.len(), model.id.as_str()))
                } else {
                    None
                }
            })
            .collect();
        scored.sort();
        scored.into_iter().take(8).map(|(_, id)| id).collect()
    }
}

fn check_id(id: &str) -> Result<(), String> {
    let ok = !id.is_empty()
        && !id.starts_with('.')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{id}` is not a usable model id (letters, digits, `.`, `-`, `_`)"
        ))
    }
}

fn check_file(id: &str, file: &CatalogFile) -> Result<(), String> {
    check_id(&file.file_name)?;
    if !(file.url.starts_with("https://") || file.url.starts_with("http://")) {
        return Err(format!(
            "model `{id}`: `{}` is not an http(s) URL",
            file.url
        ));
    }
    if file.size == 0 {
        return Err(format!("model `{id}`: size 0"));
    }
    let hex = file.sha256.len() == 64
        && file
            .sha256
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if !hex {
        return Err(format!(
            "model `{id}`: `{}` is not a sha256 in hex",
            file.sha256
        ));
    }
    Ok(())
}

/// Edit distance in characters.
fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = Vec::with_capacity(b.len() + 1);
        current.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != *cb);
            current.push(substitute.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

/// Bytes as `77.7 MB` / `3.10 GB` (decimal units, as Hugging Face shows them).
pub fn human_size(bytes: u64) -> String {
    let bytes = bytes as f64;
    if bytes >= 1e9 {
        format!("{:.2} GB", bytes / 1e9)
    } else if bytes >= 1e6 {
        format!("{:.1} MB", bytes / 1e6)
    } else if bytes >= 1e3 {
        format!("{:.1} kB", bytes / 1e3)
    } else {
        format!("{bytes} B")
    }
}

#[cfg(test)]
#[path = "catalog_tests.rs"]
mod tests;
