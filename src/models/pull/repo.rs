//! `hearsay pull OWNER/NAME`: a Whisper repository on Hugging Face that is not in the catalog
//! (`Systran/faster-whisper-small`, `openai/whisper-small`). The hub's listing says which files
//! there are; only those the conversion needs are fetched, each resumable and verified, into
//! `.hearsay-pull/OWNER--NAME/` in the models directory (hidden, so the server never serves
//! half a download). The checkpoint is then converted into `NAME.bin` and the download removed.

use std::fmt::Write as _;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use reqwest::StatusCode;
use reqwest::header::RANGE;

use super::download::{
    FetchError, RemoteFile, classify, download, error_chain, get, sha256_file, status_error,
};
use super::hub_repo::{Listing, RepoFile, RepoRef, SAFETENSORS_INDEX, shard_names};
use super::{Offline, PullOptions, PullOutcome, PullReport};
use crate::models::catalog::human_size;
use crate::models::convert::{self, SourceFormat};
use crate::models::ggml;

/// The hidden folder in the models directory where repositories are downloaded.
pub const STAGING_DIR_NAME: &str = ".hearsay-pull";

/// A listing larger than this is not the hub's.
const MAX_LISTING_BYTES: usize = 32 << 20;
/// A `config.json` or safetensors index larger than this is not a Whisper model's.
const MAX_SMALL_FILE_BYTES: u64 = 16 << 20;

/// Why a repository pull stopped.
enum Stop {
    /// The repository holds no Whisper checkpoint hearsay can convert; the download goes.
    NotWhisper(String),
    /// A download failed; what was fetched is kept, so the same command resumes.
    Fetch(FetchError),
}

impl From<FetchError> for Stop {
    fn from(error: FetchError) -> Self {
        Stop::Fetch(error)
    }
}

impl From<anyhow::Error> for Stop {
    fn from(error: anyhow::Error) -> Self {
        Stop::Fetch(FetchError::Failed(error))
    }
}

/// Pulls `repo` into `models_dir` as `NAME.bin`.
pub(super) async fn pull_repo(
    client: &reqwest::Client,
    repo: &RepoRef,
    models_dir: &Path,
    options: &PullOptions,
) -> anyhow::Result<PullReport> {
    let target = models_dir.join(format!("{}.bin", repo.name));
    if let Some(report) = already_installed(repo, &target, options)? {
        return Ok(report);
    }
    let listing = match fetch_listing(client, repo, options).await {
        Ok(listing) => listing,
        Err(FetchError::Unreachable { host, detail }) => {
            let help = offline_help(&host, &detail, repo, None, models_dir);
            return Err(Offline { host, help }.into());
        }
        Err(FetchError::Failed(error)) => {
            return Err(error.context(format!("cannot pull `{}`", repo.id())));
        }
    };
    let (format, files) = listing
        .select()
        .map_err(|reason| not_whisper(repo, &reason))?;
    // A commit pins every file to one version of the repository.
    let commit = listing
        .sha
        .as_deref()
        .filter(|sha| !sha.is_empty() && sha.bytes().all(|b| b.is_ascii_alphanumeric()))
        .unwrap_or(&repo.revision)
        .to_owned();
    if options.verbose {
        let bytes: u64 = files.iter().map(|f| f.size).sum();
        eprintln!(
            "{}: a {} checkpoint; fetching {} files ({})",
            repo.id(),
            format.name(),
            files.len(),
            human_size(bytes)
        );
    }

    let staging = staging_dir(models_dir, repo);
    std::fs::create_dir_all(&staging)
        .with_context(|| format!("cannot create {}", staging.display()))?;
    let fetched = Fetcher {
        client,
        repo,
        commit: &commit,
        dir: &staging,
        options,
    }
    .fetch_all(&listing, format, &files)
    .await;
    let result = match fetched {
        Ok(()) => convert_into(&staging, &target).await,
        Err(stop) => Err(stop),
    };
    match result {
        Ok(converted) => {
            remove_staging(models_dir, &staging);
            if options.verbose {
                eprintln!(
                    "{}: converted into {} ({} bytes); the download was removed",
                    repo.id(),
                    target.display(),
                    converted.info.file_bytes
                );
            }
            Ok(PullReport {
                id: repo.name.clone(),
                outcome: PullOutcome::Downloaded,
                paths: vec![target],
            })
        }
        Err(Stop::NotWhisper(reason)) => {
            remove_staging(models_dir, &staging);
            Err(not_whisper(repo, &reason))
        }
        Err(Stop::Fetch(FetchError::Unreachable { host, detail })) => {
            let listed = (commit.as_str(), files.as_slice());
            let help = offline_help(&host, &detail, repo, Some(listed), models_dir);
            Err(Offline { host, help }.into())
        }
        Err(Stop::Fetch(FetchError::Failed(error))) => {
            Err(error.context(format!("cannot pull `{}`", repo.id())))
        }
    }
}

/// A model already at the target name: a valid one is installed, anything else is never
/// overwritten.
fn already_installed(
    repo: &RepoRef,
    target: &Path,
    options: &PullOptions,
) -> anyhow::Result<Option<PullReport>> {
    if !target.exists() {
        return Ok(None);
    }
    match ggml::validate_whisper_model(target) {
        Ok(_) => {
            if options.verbose {
                eprintln!(
                    "{} is already installed as {} (remove it to pull again)",
                    repo.id(),
                    target.display()
                );
            }
            Ok(Some(PullReport {
                id: repo.name.clone(),
                outcome: PullOutcome::AlreadyInstalled,
                paths: vec![target.to_path_buf()],
            }))
        }
        Err(error) => Err(anyhow!(
            "{} exists and is not a whisper.cpp model ({error}); move it away and pull `{}` \
             again",
            target.display(),
            repo.id()
        )),
    }
}

fn not_whisper(repo: &RepoRef, reason: &str) -> anyhow::Error {
    anyhow!(
        "`{}` is not a Whisper checkpoint hearsay can convert: {reason}",
        repo.id()
    )
}

fn staging_dir(models_dir: &Path, repo: &RepoRef) -> PathBuf {
    models_dir
        .join(STAGING_DIR_NAME)
        .join(format!("{}--{}", repo.owner, repo.name))
}

fn remove_staging(models_dir: &Path, staging: &Path) {
    let _ = std::fs::remove_dir_all(staging);
    // Only when empty: another repository's download may be waiting to resume.
    let _ = std::fs::remove_dir(models_dir.join(STAGING_DIR_NAME));
}

async fn fetch_listing(
    client: &reqwest::Client,
    repo: &RepoRef,
    options: &PullOptions,
) -> Result<Listing, FetchError> {
    let url = repo.listing_url(options.hub());
    let mut response = get(client, &url, options)
        .send()
        .await
        .map_err(|e| classify(&url, e))?;
    if response.status() != StatusCode::OK {
        return Err(status_error(&url, response.status(), options).into());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| anyhow!("reading {url} failed: {}", error_chain(&e)))?
    {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_LISTING_BYTES {
            return Err(anyhow!("{url} answered more than {MAX_LISTING_BYTES} bytes").into());
        }
    }
    Listing::parse(&body).map_err(|e| FetchError::Failed(anyhow!("{url}: {e}")))
}

/// Fetches one repository's files into `dir`.
struct Fetcher<'a> {
    client: &'a reqwest::Client,
    repo: &'a RepoRef,
    commit: &'a str,
    dir: &'a Path,
    options: &'a PullOptions,
}

impl Fetcher<'_> {
    /// Every file, the small ones first; each checked as soon as it can tell that the
    /// repository is not a Whisper checkpoint, before the weights are fetched.
    async fn fetch_all(
        &self,
        listing: &Listing,
        format: SourceFormat,
        files: &[RepoFile],
    ) -> Result<(), Stop> {
        for file in files {
            if format == SourceFormat::CTranslate2 && file.name == "model.bin" {
                self.check_ctranslate2_header(file).await?;
            }
            let path = self.fetch(file).await?;
            if format == SourceFormat::Transformers && file.name == "config.json" {
                check_transformers_config(&path)?;
            }
            if file.name == SAFETENSORS_INDEX {
                let index = read_small(&path)?;
                for shard in shard_names(&index).map_err(Stop::NotWhisper)? {
                    let shard = listing.file(&shard).map_err(Stop::NotWhisper)?;
                    self.fetch(&shard).await?;
                }
            }
        }
        Ok(())
    }

    /// The file in `dir`: kept when a previous run completed it, else downloaded.
    async fn fetch(&self, file: &RepoFile) -> Result<PathBuf, FetchError> {
        let path = self.dir.join(&file.name);
        if is_complete(&path, file).await? {
            return Ok(path);
        }
        let url = self.repo.file_url(self.commit, &file.name);
        let remote = RemoteFile {
            file_name: &file.name,
            url: &url,
            size: file.size,
            sha256: file.sha256.as_deref(),
        };
        download(self.client, remote, self.dir, self.options).await
    }

    /// Reads the first bytes of `model.bin` from the hub: a CTranslate2 model of another kind
    /// (a translation or language model) is refused without fetching its weights.
    async fn check_ctranslate2_header(&self, file: &RepoFile) -> Result<(), Stop> {
        if is_complete(&self.dir.join(&file.name), file).await? {
            return Ok(());
        }
        let wanted = convert::CTRANSLATE2_PREFIX_BYTES;
        // An interrupted download has the header already.
        let partial = self.dir.join(format!("{}.part", file.name));
        if let Ok(mut part) = std::fs::File::open(&partial) {
            let mut prefix = vec![0u8; wanted];
            if part.read_exact(&mut prefix).is_ok() {
                return convert::check_ctranslate2_prefix(&prefix)
                    .map_err(|e| Stop::NotWhisper(e.to_string()));
            }
        }
        let url = self
            .options
            .resolve_url(&self.repo.file_url(self.commit, &file.name));
        let mut response = get(self.client, &url, self.options)
            .header(RANGE, format!("bytes=0-{}", wanted - 1))
            .send()
            .await
            .map_err(|e| classify(&url, e))?;
        let status = response.status();
        if !matches!(status, StatusCode::OK | StatusCode::PARTIAL_CONTENT) {
            return Err(Stop::from(status_error(&url, status, self.options)));
        }
        let mut prefix = Vec::new();
        while prefix.len() < wanted {
            match response.chunk().await {
                Ok(Some(chunk)) => prefix.extend_from_slice(&chunk),
                Ok(None) => break,
                Err(e) => return Err(anyhow!("reading {url} failed: {}", error_chain(&e)).into()),
            }
        }
        prefix.truncate(wanted);
        convert::check_ctranslate2_prefix(&prefix).map_err(|e| Stop::NotWhisper(e.to_string()))
    }
}

/// Whether `path` is `file` already: its size, and its sha256 when the hub gives one.
async fn is_complete(path: &Path, file: &RepoFile) -> anyhow::Result<bool> {
    let Ok(meta) = std::fs::metadata(path) else {
        return Ok(false);
    };
    if !meta.is_file() || meta.len() != file.size {
        return Ok(false);
    }
    Ok(match &file.sha256 {
        Some(expected) => sha256_file(path, None).await? == *expected,
        None => true,
    })
}

fn read_small(path: &Path) -> Result<Vec<u8>, Stop> {
    let len = std::fs::metadata(path).map_or(0, |m| m.len());
    if len > MAX_SMALL_FILE_BYTES {
        return Err(Stop::NotWhisper(format!(
            "{} is {len} bytes",
            path.file_name().unwrap_or_default().to_string_lossy()
        )));
    }
    std::fs::read(path)
        .with_context(|| format!("cannot read {}", path.display()))
        .map_err(Stop::from)
}

/// A transformers `config.json` names its architecture: only `whisper` converts.
fn check_transformers_config(path: &Path) -> Result<(), Stop> {
    let json = read_small(path)?;
    let config: serde_json::Value = serde_json::from_slice(&json)
        .map_err(|e| Stop::NotWhisper(format!("its config.json is not JSON: {e}")))?;
    match config.get("model_type").and_then(|t| t.as_str()) {
        Some("whisper") | None => Ok(()),
        Some(other) => Err(Stop::NotWhisper(format!(
            "it is a transformers `{other}` model, not a Whisper one"
        ))),
    }
}

async fn convert_into(staging: &Path, target: &Path) -> Result<convert::Converted, Stop> {
    let (source, out) = (staging.to_path_buf(), target.to_path_buf());
    let result = tokio::task::spawn_blocking(move || convert::convert(&source, &out))
        .await
        .map_err(|_| Stop::NotWhisper("the conversion failed unexpectedly".into()))?;
    result.map_err(|error| match error {
        convert::ConvertError::Io(error) => Stop::from(
            anyhow::Error::from(error).context(format!("cannot write {}", target.display())),
        ),
        other => Stop::NotWhisper(other.to_string()),
    })
}

/// What to fetch by hand when the hub cannot be reached: the exact files once the listing is
/// known, else the files each kind of repository needs.
fn offline_help(
    host: &str,
    detail: &str,
    repo: &RepoRef,
    listed: Option<(&str, &[RepoFile])>,
    models_dir: &Path,
) -> String {
    let mut text = format!(
        "cannot reach the model host {host} ({detail}). To install `{}` on a machine without \
         network, download ",
        repo.id()
    );
    match listed {
        Some((commit, files)) => {
            text.push_str("these files elsewhere into one directory:");
            for file in files {
                let sha256 = file
                    .sha256
                    .as_deref()
                    .map_or_else(String::new, |hash| format!(", sha256 {hash}"));
                let _ = write!(
                    text,
                    "\n  {}  ({}{sha256})  {}",
                    file.name,
                    human_size(file.size),
                    repo.file_url(commit, &file.name)
                );
            }
            text.push('\n');
        }
        None => {
            let _ = write!(
                text,
                "its files from {} into one directory: for a faster-whisper (CTranslate2) \
                 repository config.json, model.bin, tokenizer.json and vocabulary.txt (or \
                 .json); for a transformers one config.json, model.safetensors (or its index and \
                 shards), vocab.json and added_tokens.json, or tokenizer.json. ",
                repo.page_url()
            );
        }
    }
    let _ = write!(
        text,
        "Then copy that directory into {} (the server converts it when it starts), or run \
         `hearsay convert DIR {}`.",
        models_dir.display(),
        models_dir.join(format!("{}.bin", repo.name)).display()
    );
    text
}
