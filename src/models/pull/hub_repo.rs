//! A Hugging Face repository named on the command line (`Systran/faster-whisper-small`,
//! `openai/whisper-small@main`): its id, the hub's listing of its files, and which of them a
//! conversion needs.

use serde::Deserialize;

use super::HF_DEFAULT_ENDPOINT;
use crate::models::convert::SourceFormat;

/// Files in a CTranslate2 (faster-whisper) repository that the conversion reads or that
/// faster-whisper keeps beside the model, when present; `vocabulary.txt` or `.json`, then
/// `model.bin` come after them, so the weights are fetched last.
const CTRANSLATE2_FILES: &[&str] = &["config.json", "tokenizer.json"];
const CTRANSLATE2_VOCABULARIES: &[&str] = &["vocabulary.txt", "vocabulary.json"];
/// Files in a transformers repository that the conversion reads (the weights come on top).
const TRANSFORMERS_FILES: &[&str] = &[
    "config.json",
    "vocab.json",
    "added_tokens.json",
    "tokenizer.json",
];
pub const SAFETENSORS: &str = "model.safetensors";
pub const SAFETENSORS_INDEX: &str = "model.safetensors.index.json";

/// `OWNER/NAME` with an optional `@REVISION` (a branch, tag or commit; `main` by default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoRef {
    pub owner: String,
    pub name: String,
    pub revision: String,
}

impl RepoRef {
    /// `None` when `text` does not look like a repository id (no `/`); an error when it does
    /// but is not a valid one.
    pub fn parse(text: &str) -> Option<Result<Self, String>> {
        let text = text.trim();
        if !text.contains('/') {
            return None;
        }
        let (id, revision) = match text.split_once('@') {
            Some((id, revision)) => (id, revision),
            None => (text, "main"),
        };
        let parsed = match id.split_once('/') {
            Some((owner, name))
                if valid_part(owner) && valid_part(name) && valid_part(revision) =>
            {
                Ok(Self {
                    owner: owner.to_owned(),
                    name: name.to_owned(),
                    revision: revision.to_owned(),
                })
            }
            _ => Err(format!(
                "`{text}` is not a Hugging Face repository id (OWNER/NAME or \
                 OWNER/NAME@REVISION; letters, digits, `.`, `-`, `_`)"
            )),
        };
        Some(parsed)
    }

    /// `Systran/faster-whisper-small`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }

    /// The hub API's listing of the revision's files, with sizes and LFS hashes.
    pub fn listing_url(&self, hub: &str) -> String {
        format!(
            "{hub}/api/models/{}/{}/revision/{}?blobs=true",
            self.owner, self.name, self.revision
        )
    }

    /// A file at a commit, on huggingface.co (the endpoint replaces the host when fetched).
    pub fn file_url(&self, commit: &str, file: &str) -> String {
        format!(
            "{HF_DEFAULT_ENDPOINT}/{}/{}/resolve/{commit}/{file}",
            self.owner, self.name
        )
    }

    /// Where a person finds the files in a browser.
    pub fn page_url(&self) -> String {
        format!(
            "{HF_DEFAULT_ENDPOINT}/{}/{}/tree/{}",
            self.owner, self.name, self.revision
        )
    }
}

/// The hub forbids `--` and `..` in names; nothing here may leave a URL path segment.
fn valid_part(part: &str) -> bool {
    !part.is_empty()
        && part.len() <= 96
        && !part.starts_with(['.', '-'])
        && !part.contains("--")
        && !part.contains("..")
        && part
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

/// The parts of the hub's answer that are used.
#[derive(Debug, Deserialize)]
pub struct Listing {
    /// The commit the revision points at; files are fetched from it, so a push during the
    /// download cannot mix two versions.
    pub sha: Option<String>,
    #[serde(default)]
    pub siblings: Vec<Sibling>,
}

#[derive(Debug, Deserialize)]
pub struct Sibling {
    pub rfilename: String,
    pub size: Option<u64>,
    pub lfs: Option<Lfs>,
}

#[derive(Debug, Deserialize)]
pub struct Lfs {
    pub sha256: Option<String>,
    pub size: Option<u64>,
}

/// A file to fetch, as the hub lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoFile {
    pub name: String,
    pub size: u64,
    /// Given for LFS files (the weights); small files are checked by size and by the
    /// conversion, which parses them.
    pub sha256: Option<String>,
}

impl Listing {
    pub fn parse(json: &[u8]) -> Result<Self, String> {
        serde_json::from_slice(json)
            .map_err(|e| format!("the hub's file listing is not what hearsay expects: {e}"))
    }

    fn has(&self, name: &str) -> bool {
        self.siblings.iter().any(|s| s.rfilename == name)
    }

    /// The listed file `name`, with its size and hash.
    pub fn file(&self, name: &str) -> Result<RepoFile, String> {
        let sibling = self
            .siblings
            .iter()
            .find(|s| s.rfilename == name)
            .ok_or_else(|| format!("the repository lists no `{name}`"))?;
        let lfs = sibling.lfs.as_ref();
        let size = lfs
            .and_then(|l| l.size)
            .or(sibling.size)
            .ok_or_else(|| format!("the hub gives no size for `{name}`"))?;
        let sha256 = lfs
            .and_then(|l| l.sha256.as_deref())
            .map(str::to_ascii_lowercase)
            .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()));
        Ok(RepoFile {
            name: name.to_owned(),
            size,
            sha256,
        })
    }

    /// The checkpoint's format and the files to fetch (for sharded transformers weights, the
    /// index; its shards come after it is read). The error is one line saying why the
    /// repository cannot be converted.
    pub fn select(&self) -> Result<(SourceFormat, Vec<RepoFile>), String> {
        if self.has("model.bin") {
            let Some(vocabulary) = CTRANSLATE2_VOCABULARIES.iter().find(|n| self.has(n)) else {
                return Err(
                    "it has a model.bin but no vocabulary.txt or vocabulary.json, so \
                     it is not a CTranslate2 Whisper model"
                        .into(),
                );
            };
            let mut names: Vec<&str> = CTRANSLATE2_FILES
                .iter()
                .copied()
                .filter(|n| self.has(n))
                .collect();
            names.extend([vocabulary, "model.bin"]);
            return self.files(SourceFormat::CTranslate2, &names);
        }
        if self.has(SAFETENSORS) || self.has(SAFETENSORS_INDEX) {
            if !self.has("vocab.json") && !self.has("tokenizer.json") {
                return Err("it has no vocab.json or tokenizer.json".into());
            }
            let mut names: Vec<&str> = TRANSFORMERS_FILES
                .iter()
                .copied()
                .filter(|n| self.has(n))
                .collect();
            names.push(if self.has(SAFETENSORS) {
                SAFETENSORS
            } else {
                SAFETENSORS_INDEX
            });
            return self.files(SourceFormat::Transformers, &names);
        }
        if self.has("pytorch_model.bin") {
            return Err(
                "its weights are PyTorch pickles (pytorch_model.bin); hearsay reads \
                 safetensors and CTranslate2 models"
                    .into(),
            );
        }
        let ggml = |s: &Sibling| s.rfilename.starts_with("ggml-") && s.rfilename.ends_with(".bin");
        if self.siblings.iter().any(ggml) {
            return Err(
                "it holds whisper.cpp files, which need no conversion: pull one by its \
                 catalog name (`hearsay models` lists them) or copy it into the models directory"
                    .into(),
            );
        }
        Err(
            "it has no model.bin (CTranslate2, as faster-whisper uses) and no \
             model.safetensors (transformers)"
                .into(),
        )
    }

    fn files(
        &self,
        format: SourceFormat,
        names: &[&str],
    ) -> Result<(SourceFormat, Vec<RepoFile>), String> {
        if !self.has("config.json") {
            return Err("it has no config.json".into());
        }
        let files = names
            .iter()
            .map(|name| self.file(name))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((format, files))
    }
}

/// The shard names a `model.safetensors.index.json` lists, each once, sorted.
pub fn shard_names(index_json: &[u8]) -> Result<Vec<String>, String> {
    #[derive(Deserialize)]
    struct Index {
        weight_map: std::collections::BTreeMap<String, String>,
    }
    let index: Index = serde_json::from_slice(index_json)
        .map_err(|e| format!("{SAFETENSORS_INDEX} is not a safetensors index: {e}"))?;
    let mut shards: Vec<String> = index.weight_map.into_values().collect();
    shards.sort();
    shards.dedup();
    if let Some(bad) = shards.iter().find(|s| !valid_part(s)) {
        return Err(format!("{SAFETENSORS_INDEX} names a shard `{bad}`"));
    }
    Ok(shards)
}

#[cfg(test)]
#[path = "hub_repo_tests.rs"]
mod tests;
