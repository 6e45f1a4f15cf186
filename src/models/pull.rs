//! `hearsay pull`: downloads catalog models into the models directory.
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

use std::fmt::Write as _;
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_RANGE, RANGE};
use sha2::{Digest, Sha256};

use super::catalog::{Catalog, CatalogFile, CatalogModel, ModelKind, human_size};

/// The host every catalog URL starts with; `HF_ENDPOINT` replaces it.
pub const HF_DEFAULT_ENDPOINT: &str = "https://huggingface.co";

/// How to reach the hub.
#[derive(Debug, Clone)]
pub struct PullOptions {
    /// Replaces `https://huggingface.co` in catalog URLs (`HF_ENDPOINT`).
    pub endpoint: Option<String>,
    /// Sent as `Authorization: Bearer` to the hub (`HF_TOKEN`).
    pub token: Option<String>,
    /// Use the `*_PROXY` environment variables (tests turn this off).
    pub use_env_proxy: bool,
    /// Draw progress bars on stderr (only when it is a terminal).
    pub progress_bars: bool,
    /// Print a line per file on stderr.
    pub verbose: bool,
}

impl Default for PullOptions {
    fn default() -> Self {
        Self {
            endpoint: None,
            token: None,
            use_env_proxy: true,
            progress_bars: false,
            verbose: true,
        }
    }
}

impl PullOptions {
    /// `HF_ENDPOINT`, `HF_TOKEN` (or the older `HUGGING_FACE_HUB_TOKEN`), proxies from the
    /// environment, and bars when stderr is a terminal.
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// [`PullOptions::from_env`] with the variables read through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let non_empty = |name: &str| {
            lookup(name)
                .map(|value| value.trim().to_owned())
                .filter(|value| !value.is_empty())
        };
        Self {
            endpoint: non_empty("HF_ENDPOINT"),
            token: non_empty("HF_TOKEN").or_else(|| non_empty("HUGGING_FACE_HUB_TOKEN")),
            use_env_proxy: true,
            progress_bars: std::io::stderr().is_terminal(),
            verbose: true,
        }
    }

    /// The hub's base URL, without a trailing slash.
    fn hub(&self) -> &str {
        self.endpoint
            .as_deref()
            .unwrap_or(HF_DEFAULT_ENDPOINT)
            .trim_end_matches('/')
    }

    /// `url` with `https://huggingface.co` replaced by the endpoint.
    pub fn resolve_url(&self, url: &str) -> String {
        match url.strip_prefix(HF_DEFAULT_ENDPOINT) {
            Some(rest) if rest.is_empty() || rest.starts_with('/') => {
                format!("{}{rest}", self.hub())
            }
            _ => url.to_owned(),
        }
    }

    /// Whether `url` (already resolved) goes to the hub, which is the only host given the token.
    fn is_hub(&self, url: &str) -> bool {
        url.strip_prefix(self.hub())
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    }
}

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

/// `hearsay pull NAME…`: installs each named model from the built-in catalog into
/// `models_dir`, with the hub settings from the environment.
pub async fn pull(names: &[String], models_dir: &Path) -> anyhow::Result<()> {
    let catalog = Catalog::builtin()?;
    pull_with(catalog, names, models_dir, &PullOptions::from_env()).await?;
    Ok(())
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
    let mut models: Vec<&CatalogModel> = Vec::new();
    let mut unknown = Vec::new();
    for name in names {
        match catalog.get(name) {
            Some(model) if !models.iter().any(|m| m.id == model.id) => models.push(model),
            Some(_) => {}
            None => unknown.push(unknown_line(catalog, name)),
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
    for (index, model) in models.iter().enumerate() {
        match pull_model(&client, model, models_dir, options).await {
            Ok(report) => reports.push(report),
            Err(FetchError::Unreachable { host, detail }) => {
                return Err(Offline {
                    help: offline_help(&host, &detail, &models[index..], models_dir),
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
        .filter(|name| {
            catalog
                .get(name)
                .is_none_or(|model| !installed.contains(&model.kind))
        })
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
    if !inventory.stt.is_empty() {
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
        .filter_map(|name| catalog.get(name))
        .map(|model| match model.kind {
            ModelKind::Whisper => "a whisper.cpp ggml-*.bin",
            ModelKind::Vad => "a whisper.cpp Silero VAD ggml-silero-*.bin",
            ModelKind::Voice => "a Piper voice (NAME.onnx with NAME.onnx.json)",
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

enum FetchError {
    /// The host could not be reached at all: no network, DNS, refused, proxy.
    Unreachable {
        host: String,
        detail: String,
    },
    Failed(anyhow::Error),
}

impl From<anyhow::Error> for FetchError {
    fn from(error: anyhow::Error) -> Self {
        FetchError::Failed(error)
    }
}

impl From<std::io::Error> for FetchError {
    fn from(error: std::io::Error) -> Self {
        FetchError::Failed(error.into())
    }
}

fn client(options: &PullOptions) -> anyhow::Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .user_agent(concat!("hearsay/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(30))
        .read_timeout(Duration::from_secs(120));
    if !options.use_env_proxy {
        builder = builder.no_proxy();
    }
    builder.build().context("cannot set up the HTTP client")
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
            None => download(client, file, dir, options).await?,
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

/// sha256 of `path` (of its first `limit` bytes, if given), off the async threads.
async fn sha256_file(path: &Path, limit: Option<u64>) -> anyhow::Result<String> {
    let hasher = hash_prefix(path, limit).await?;
    Ok(hex(&hasher.finalize()))
}

async fn hash_prefix(path: &Path, limit: Option<u64>) -> anyhow::Result<Sha256> {
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || -> anyhow::Result<Sha256> {
        let file = std::fs::File::open(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let mut reader: Box<dyn Read> = match limit {
            Some(limit) => Box::new(file.take(limit)),
            None => Box::new(file),
        };
        let mut hasher = Sha256::new();
        let mut buffer = vec![0u8; 1 << 20];
        loop {
            let n = reader
                .read(&mut buffer)
                .with_context(|| format!("cannot read {}", path.display()))?;
            if n == 0 {
                return Ok(hasher);
            }
            hasher.update(&buffer[..n]);
        }
    })
    .await
    .context("the hashing task failed")?
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Downloads `file` into `dir` through `FILE.part`; returns the final path.
async fn download(
    client: &reqwest::Client,
    file: &CatalogFile,
    dir: &Path,
    options: &PullOptions,
) -> Result<PathBuf, FetchError> {
    let target = dir.join(&file.file_name);
    let part = dir.join(format!("{}.part", file.file_name));
    let url = options.resolve_url(&file.url);
    let mut restarted = false;

    loop {
        let mut have =
            std::fs::metadata(&part).map_or(0, |m| if m.is_file() { m.len() } else { 0 });
        if have > file.size {
            remove(&part);
            have = 0;
        }
        if have == file.size {
            // Complete but never verified (stopped between the last byte and the rename).
            let hasher = hash_prefix(&part, None).await?;
            install(hasher, file, &part, &target)?;
            report_done(file, &target, options);
            return Ok(target);
        }

        let mut request = client.get(&url);
        if have > 0 {
            request = request.header(RANGE, format!("bytes={have}-"));
        }
        if let Some(token) = &options.token
            && options.is_hub(&url)
        {
            request = request.bearer_auth(token);
        }
        let mut response = request.send().await.map_err(|e| classify(&url, e))?;

        let status = response.status();
        let start = match status {
            StatusCode::PARTIAL_CONTENT if have > 0 => match content_range(&response) {
                Some((start, total)) if start == have && total.is_none_or(|t| t == file.size) => {
                    have
                }
                Some((_, Some(total))) if total != file.size => {
                    remove(&part);
                    return Err(size_mismatch(file, total));
                }
                _ if !restarted => {
                    // A range other than the one asked for: start again from nothing.
                    remove(&part);
                    restarted = true;
                    continue;
                }
                _ => {
                    return Err(
                        anyhow!("{url} answered a range request with the wrong range").into(),
                    );
                }
            },
            StatusCode::OK => 0,
            StatusCode::RANGE_NOT_SATISFIABLE if have > 0 && !restarted => {
                remove(&part);
                restarted = true;
                continue;
            }
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                let hint = if options.token.is_some() {
                    "check that HF_TOKEN is valid and may read this repository"
                } else {
                    "a gated or private repository needs HF_TOKEN set to an access token"
                };
                return Err(anyhow!("{url} answered {status}: {hint}").into());
            }
            StatusCode::NOT_FOUND => {
                return Err(anyhow!("{url} answered {status}: the file is not there").into());
            }
            _ => return Err(anyhow!("{url} answered {status}").into()),
        };
        if let Some(length) = response.content_length()
            && start + length != file.size
        {
            remove(&part);
            return Err(size_mismatch(file, start + length));
        }

        let mut out = if start == 0 {
            std::fs::File::create(&part)
        } else {
            std::fs::OpenOptions::new().append(true).open(&part)
        }
        .with_context(|| format!("cannot write {}", part.display()))?;
        let mut hasher = if start == 0 {
            Sha256::new()
        } else {
            hash_prefix(&part, Some(start)).await?
        };

        let bar = progress_bar(file, start, options);
        if start > 0 && options.verbose && !options.progress_bars {
            eprintln!(
                "{}: resuming at {} of {}",
                file.file_name,
                human_size(start),
                human_size(file.size)
            );
        }
        let mut written = start;
        loop {
            let chunk = match response.chunk().await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break,
                Err(error) => {
                    bar.abandon();
                    let _ = out.sync_data();
                    return Err(interrupted(file, &part, written, &error));
                }
            };
            written += chunk.len() as u64;
            if written > file.size {
                bar.abandon();
                drop(out);
                remove(&part);
                return Err(size_mismatch(file, written));
            }
            out.write_all(&chunk)
                .with_context(|| format!("cannot write {}", part.display()))?;
            hasher.update(&chunk);
            bar.set_position(written);
        }
        if written < file.size {
            bar.abandon();
            let _ = out.sync_data();
            return Err(FetchError::Failed(anyhow!(
                "the download of {} ended after {} of {} bytes; run the same command again to resume \
                 (the partial file {} is kept)",
                file.file_name,
                written,
                file.size,
                part.display()
            )));
        }
        out.sync_all()
            .with_context(|| format!("cannot write {}", part.display()))?;
        drop(out);
        bar.finish_and_clear();
        install(hasher, file, &part, &target)?;
        report_done(file, &target, options);
        return Ok(target);
    }
}

/// Checks the finished `.part` file's hash, then renames it into place and syncs the directory.
fn install(hasher: Sha256, file: &CatalogFile, part: &Path, target: &Path) -> anyhow::Result<()> {
    let got = hex(&hasher.finalize());
    if got != file.sha256 {
        remove(part);
        bail!(
            "checksum mismatch for {}: expected sha256 {}, got {}; the download was deleted",
            file.file_name,
            file.sha256,
            got
        );
    }
    std::fs::File::open(part)
        .and_then(|f| f.sync_all())
        .with_context(|| format!("cannot sync {}", part.display()))?;
    std::fs::rename(part, target)
        .with_context(|| format!("cannot move {} to {}", part.display(), target.display()))?;
    if let Some(parent) = target.parent() {
        // Makes the rename durable; not every platform can open a directory, so best effort.
        if let Ok(dir) = std::fs::File::open(parent) {
            let _ = dir.sync_all();
        }
    }
    Ok(())
}

fn report_done(file: &CatalogFile, target: &Path, options: &PullOptions) {
    if options.verbose {
        eprintln!(
            "{}: {} downloaded, sha256 verified",
            target.display(),
            human_size(file.size)
        );
    }
}

fn remove(path: &Path) {
    let _ = std::fs::remove_file(path);
}

fn size_mismatch(file: &CatalogFile, got: u64) -> FetchError {
    FetchError::Failed(anyhow!(
        "size mismatch for {}: expected {} bytes, the server has {}; nothing was installed",
        file.file_name,
        file.size,
        got
    ))
}

fn interrupted(
    file: &CatalogFile,
    part: &Path,
    written: u64,
    error: &reqwest::Error,
) -> FetchError {
    FetchError::Failed(anyhow!(
        "the download of {} was interrupted after {} of {} bytes ({}); run the same command \
         again to resume (the partial file {} is kept)",
        file.file_name,
        written,
        file.size,
        error_chain(error),
        part.display()
    ))
}

/// A failed request: unreachable host, or anything else.
fn classify(url: &str, error: reqwest::Error) -> FetchError {
    if error.is_connect() || (error.is_timeout() && !error.is_body()) {
        let host = reqwest::Url::parse(url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_else(|| url.to_owned());
        FetchError::Unreachable {
            host,
            detail: error_chain(&error),
        }
    } else {
        FetchError::Failed(anyhow!("request to {url} failed: {}", error_chain(&error)))
    }
}

/// `error: cause: cause`, without the URL reqwest repeats.
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    // reqwest's own message only repeats the URL; its causes say what happened.
    let (mut text, mut source) = match (error.downcast_ref::<reqwest::Error>(), error.source()) {
        (Some(_), Some(cause)) => (cause.to_string(), cause.source()),
        _ => (error.to_string(), error.source()),
    };
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            let _ = write!(text, ": {cause_text}");
        }
        source = cause.source();
    }
    text
}

/// `Content-Range: bytes START-END/TOTAL` → (START, TOTAL if known).
fn content_range(response: &reqwest::Response) -> Option<(u64, Option<u64>)> {
    let value = response.headers().get(CONTENT_RANGE)?.to_str().ok()?;
    parse_content_range(value)
}

fn parse_content_range(value: &str) -> Option<(u64, Option<u64>)> {
    let rest = value.trim().strip_prefix("bytes")?.trim_start();
    let (range, total) = rest.split_once('/')?;
    let (start, _end) = range.split_once('-')?;
    let start = start.trim().parse().ok()?;
    let total = match total.trim() {
        "*" => None,
        total => Some(total.parse().ok()?),
    };
    Some((start, total))
}

fn progress_bar(file: &CatalogFile, start: u64, options: &PullOptions) -> ProgressBar {
    if !options.progress_bars {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(file.size), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(file.file_name.clone());
    bar.set_position(start);
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_ranges_parse() {
        assert_eq!(
            parse_content_range("bytes 10-99/100"),
            Some((10, Some(100)))
        );
        assert_eq!(parse_content_range("bytes 10-99/*"), Some((10, None)));
        assert_eq!(parse_content_range("bytes */100"), None);
        assert_eq!(parse_content_range("items 1-2/3"), None);
        assert_eq!(parse_content_range(""), None);
    }

    #[test]
    fn endpoint_replaces_the_hub_and_only_the_hub_gets_the_token() {
        let options = PullOptions::from_lookup(|name| match name {
            "HF_ENDPOINT" => Some("http://mirror.local:8080/".into()),
            "HF_TOKEN" => Some(" hf_secret\n".into()),
            _ => None,
        });
        assert_eq!(options.token.as_deref(), Some("hf_secret"));
        let url = options.resolve_url("https://huggingface.co/org/repo/resolve/abc/f.bin");
        assert_eq!(url, "http://mirror.local:8080/org/repo/resolve/abc/f.bin");
        assert!(options.is_hub(&url));
        assert!(!options.is_hub("https://huggingface.co/org/repo/resolve/abc/f.bin"));
        assert!(!options.is_hub("http://mirror.local:8080.evil/x"));
        assert_eq!(
            options.resolve_url("https://huggingface.com/x"),
            "https://huggingface.com/x"
        );

        let plain = PullOptions::from_lookup(|name| {
            (name == "HUGGING_FACE_HUB_TOKEN").then(|| "old".to_string())
        });
        assert_eq!(plain.token.as_deref(), Some("old"));
        assert!(plain.is_hub("https://huggingface.co/x"));
        assert_eq!(
            plain.resolve_url("https://huggingface.co/x"),
            "https://huggingface.co/x"
        );
        let empty = PullOptions::from_lookup(|_| Some(String::new()));
        assert!(empty.endpoint.is_none() && empty.token.is_none());
    }

    #[test]
    fn hex_is_lower_case() {
        assert_eq!(hex(&[0x00, 0xab, 0xff]), "00abff");
    }
}
