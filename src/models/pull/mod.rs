//! `hearsay pull`: downloads catalog models into the models directory, and converts Whisper
//! repositories named by their Hugging Face id ([`repo`]).
//!
//! Each file is downloaded to `FILE.part` beside its final name, resumed with a `Range` request
//! after an interruption, checked against the catalog's size and sha256, synced to disk and only
//! then renamed into place, so the server never finds a partial or corrupt model. A voice's
//! config lands before its model, so a voice is never found without its config.
//!
//! HTTP goes through reqwest with rustls, which honours `HTTPS_PROXY`, `HTTP_PROXY`,
//! `ALL_PROXY` and `NO_PROXY`. `HF_ENDPOINT` replaces `https://huggingface.co` (a mirror), and
//! `HF_TOKEN` is sent as a bearer token to that host only (reqwest drops it on redirects to
//! another host, such as the CDN that serves the bytes).

mod download;
mod hub_repo;
mod options;
mod repo;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};

use super::catalog::{Catalog, CatalogFile, CatalogModel, ModelKind, human_size};
use download::{FetchError, client, download, sha256_file};
use hub_repo::RepoRef;
pub use options::{HF_DEFAULT_ENDPOINT, PullOptions};
pub use repo::STAGING_DIR_NAME;

/// What `pull` did for one model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullOutcome {
    Downloaded,
    AlreadyInstalled,
}

#[derive(Debug, Clone)]
pub struct PullReport {
    pub id: String,
    pub outcome: PullOutcome,
    /// Where the model's files are, config first for a voice.
    pub paths: Vec<PathBuf>,
}

/// `hearsay pull NAME…`: installs each named model from the built-in catalog, or each named
/// Hugging Face repository (`OWNER/NAME`), into `models_dir`, with the hub settings from the
/// environment.
pub async fn pull(names: &[String], models_dir: &Path) -> anyhow::Result<()> {
    let catalog = Catalog::builtin()?;
    pull_with(catalog, names, models_dir, &PullOptions::from_env()).await?;
    Ok(())
}

/// What a name on the command line asks for.
enum Wanted<'a> {
    Catalog(&'a CatalogModel),
    Repo(RepoRef),
}

impl Wanted<'_> {
    /// Names that ask for the same thing have the same key.
    fn key(&self) -> String {
        match self {
            Wanted::Catalog(model) => model.id.clone(),
            Wanted::Repo(repo) => format!("{}@{}", repo.id(), repo.revision),
        }
    }
}

/// The kind of model `name` asks for: a catalog model's, and a repository's is whisper.
fn kind_of(catalog: &Catalog, name: &str) -> Option<ModelKind> {
    match (catalog.get(name), RepoRef::parse(name)) {
        (Some(model), _) => Some(model.kind),
        (None, Some(Ok(_))) => Some(ModelKind::Whisper),
        _ => None,
    }
}

/// [`pull`] with any catalog and options. Every name is checked before anything is
/// downloaded; then each model is pulled in turn, and the first failure stops the rest.
pub async fn pull_with(
    catalog: &Catalog,
    names: &[String],
    models_dir: &Path,
    options: &PullOptions,
) -> anyhow::Result<Vec<PullReport>> {
    if names.is_empty() {
        bail!("name at least one model to pull; `hearsay models` lists the catalog");
    }
    let mut wanted: Vec<Wanted> = Vec::new();
    let mut unknown = Vec::new();
    for name in names {
        let item = match (catalog.get(name), RepoRef::parse(name)) {
            (Some(model), _) => Wanted::Catalog(model),
            (None, Some(Ok(repo))) => Wanted::Repo(repo),
            (None, Some(Err(reason))) => {
                unknown.push(reason);
                continue;
            }
            (None, None) => {
                unknown.push(unknown_line(catalog, name));
                continue;
            }
        };
        if !wanted.iter().any(|w| w.key() == item.key()) {
            wanted.push(item);
        }
    }
    if !unknown.is_empty() {
        bail!("{}; `hearsay models` lists the catalog", unknown.join("; "));
    }

    std::fs::create_dir_all(models_dir).with_context(|| {
        format!(
            "cannot create the models directory {}",
            models_dir.display()
        )
    })?;
    let client = client(options)?;

    let mut reports = Vec::new();
    for (index, item) in wanted.iter().enumerate() {
        let model = match item {
            Wanted::Repo(repo) => {
                reports.push(repo::pull_repo(&client, repo, models_dir, options).await?);
                continue;
            }
            Wanted::Catalog(model) => model,
        };
        match pull_model(&client, model, models_dir, options).await {
            Ok(report) => reports.push(report),
            Err(FetchError::Unreachable { host, detail }) => {
                let rest: Vec<&CatalogModel> = wanted[index..]
                    .iter()
                    .filter_map(|w| match w {
                        Wanted::Catalog(model) => Some(*model),
                        Wanted::Repo(_) => None,
                    })
                    .collect();
                return Err(Offline {
                    help: offline_help(&host, &detail, &rest, models_dir),
                    host,
                }
                .into());
            }
            Err(FetchError::Failed(error)) => {
                return Err(error.context(format!("cannot pull `{}`", model.id)));
            }
        }
    }
    Ok(reports)
}

fn unknown_line(catalog: &Catalog, name: &str) -> String {
    let close = catalog.close_matches(name);
    if close.is_empty() {
        format!("`{name}` is not in the catalog")
    } else {
        format!(
            "`{name}` is not in the catalog (did you mean {}?)",
            close.join(", ")
        )
    }
}

/// The model host could not be reached; the message says what to copy by hand.
#[derive(Debug, thiserror::Error)]
#[error("{help}")]
pub struct Offline {
    pub host: String,
    help: String,
}

/// `hearsay pull --if-missing NAME…`: pulls each named model only when the models directory
/// holds no model of its kind (a whisper model, a VAD model, a voice). Without a network that
/// is one line on stderr, not a failure, so that a start-up script goes on to serve.
pub async fn pull_missing(names: &[String], models_dir: &Path) -> anyhow::Result<()> {
    let catalog = Catalog::builtin()?;
    let outcome = pull_missing_with(catalog, names, models_dir, &PullOptions::from_env()).await?;
    if let Some(note) = outcome.offline_note {
        eprintln!("hearsay: {note}");
    }
    Ok(())
}

/// What [`pull_missing_with`] did.
#[derive(Debug)]
pub struct MissingPull {
    /// The names that were wanted because nothing of their kind was installed.
    pub wanted: Vec<String>,
    pub reports: Vec<PullReport>,
    /// Set when the host could not be reached: the one line to show.
    pub offline_note: Option<String>,
}

/// [`pull_missing`] with any catalog and options.
pub async fn pull_missing_with(
    catalog: &Catalog,
    names: &[String],
    models_dir: &Path,
    options: &PullOptions,
) -> anyhow::Result<MissingPull> {
    let installed = installed_kinds(models_dir);
    let wanted: Vec<String> = names
        .iter()
        .filter(|name| kind_of(catalog, name).is_none_or(|kind| !installed.contains(&kind)))
        .cloned()
        .collect();
    if wanted.is_empty() {
        return Ok(MissingPull {
            wanted,
            reports: Vec::new(),
            offline_note: None,
        });
    }
    match pull_with(catalog, &wanted, models_dir, options).await {
        Ok(reports) => Ok(MissingPull {
            wanted,
            reports,
            offline_note: None,
        }),
        Err(error) => match error.downcast_ref::<Offline>() {
            Some(offline) => {
                let note = offline_note(catalog, &wanted, &offline.host, models_dir);
                Ok(MissingPull {
                    wanted,
                    reports: Vec::new(),
                    offline_note: Some(note),
                })
            }
            None => Err(error),
        },
    }
}

/// The kinds of model `models_dir` already holds in a usable form.
fn installed_kinds(models_dir: &Path) -> Vec<ModelKind> {
    let inventory = super::scan(models_dir);
    let mut kinds = Vec::new();
    if !inventory.stt.is_empty() || !inventory.sources.is_empty() {
        kinds.push(ModelKind::Whisper);
    }
    if !inventory.vad.is_empty() {
        kinds.push(ModelKind::Vad);
    }
    if !inventory.voices.is_empty() {
        kinds.push(ModelKind::Voice);
    }
    kinds
}

/// One line: nothing could be fetched, and what to copy in instead.
fn offline_note(catalog: &Catalog, wanted: &[String], host: &str, models_dir: &Path) -> String {
    let what: Vec<&str> = wanted
        .iter()
        .filter_map(|name| Some((kind_of(catalog, name)?, RepoRef::parse(name).is_some())))
        .map(|kind| match kind {
            (ModelKind::Whisper, true) => {
                "a Whisper model (a whisper.cpp .bin, or a faster-whisper or transformers directory)"
            }
            (ModelKind::Whisper, false) => "a whisper.cpp ggml-*.bin",
            (ModelKind::Vad, _) => "a whisper.cpp Silero VAD ggml-silero-*.bin",
            (ModelKind::Voice, _) => "a Piper voice (NAME.onnx with NAME.onnx.json)",
        })
        .collect();
    format!(
        "no network to fetch {} from {host}; on an air-gapped machine copy {} into {} \
         (`hearsay pull {}` lists the exact files and sha256 sums).",
        wanted.join(" and "),
        what.join(" and "),
        models_dir.display(),
        wanted.join(" "),
    )
}

/// The one line for a host that cannot be reached, and what to copy by hand.
fn offline_help(host: &str, detail: &str, models: &[&CatalogModel], models_dir: &Path) -> String {
    let mut text = format!(
        "cannot reach the model host {host} ({detail}). To install on a machine without network, \
         download these files elsewhere and copy them into {} under exactly these names:",
        models_dir.display()
    );
    for model in models {
        for file in &model.files {
            let _ = write!(
                text,
                "\n  {}  ({}, sha256 {})  {}",
                file.file_name,
                human_size(file.size),
                file.sha256,
                file.url
            );
        }
    }
    text
}

async fn pull_model(
    client: &reqwest::Client,
    model: &CatalogModel,
    dir: &Path,
    options: &PullOptions,
) -> Result<PullReport, FetchError> {
    let mut installed = Vec::new();
    for file in &model.files {
        installed.push(existing_install(file, dir).await?);
    }
    if installed.iter().all(Option::is_some) {
        let paths: Vec<PathBuf> = installed.into_iter().flatten().collect();
        if options.verbose {
            let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
            eprintln!(
                "{} is already installed and verified ({})",
                model.id,
                names.join(", ")
            );
        }
        return Ok(PullReport {
            id: model.id.clone(),
            outcome: PullOutcome::AlreadyInstalled,
            paths,
        });
    }
    let mut paths = Vec::new();
    for (file, existing) in model.files.iter().zip(installed) {
        let path = match existing {
            Some(path) => path,
            None => download(client, file.into(), dir, options).await?,
        };
        paths.push(path);
    }
    Ok(PullReport {
        id: model.id.clone(),
        outcome: PullOutcome::Downloaded,
        paths,
    })
}

/// The verified file already in `dir` for `file`: under its own name, or under its upstream
/// name (`ggml-tiny.bin`, as the README used to suggest). A different file under the name
/// `pull` would write is an error: it is never overwritten.
async fn existing_install(file: &CatalogFile, dir: &Path) -> Result<Option<PathBuf>, FetchError> {
    let target = dir.join(&file.file_name);
    let mut candidates = vec![target.clone()];
    let upstream = file.upstream_name();
    if !upstream.is_empty() && upstream != file.file_name && !upstream.contains(['/', '\\']) {
        candidates.push(dir.join(upstream));
    }
    for path in candidates {
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        let matches = meta.is_file()
            && meta.len() == file.size
            && sha256_file(&path, None).await? == file.sha256;
        if matches {
            return Ok(Some(path));
        }
        if path == target {
            return Err(FetchError::Failed(anyhow!(
                "{} exists but is not the catalog's file ({} bytes, sha256 {} expected); \
                 move it away and pull again",
                path.display(),
                file.size,
                file.sha256
            )));
        }
    }
    Ok(None)
}
