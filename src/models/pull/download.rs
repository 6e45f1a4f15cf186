//! One file from the hub into the models directory: downloaded to `FILE.part`, resumed with a
//! `Range` request after an interruption, checked against its size and sha256, synced to disk
//! and only then renamed into place.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_RANGE, RANGE};
use sha2::{Digest, Sha256};

use super::PullOptions;
use crate::models::catalog::{CatalogFile, human_size};

/// A file to fetch: the name it is saved under, where it comes from, and what it must be.
#[derive(Debug, Clone, Copy)]
pub(super) struct RemoteFile<'a> {
    pub file_name: &'a str,
    /// An `https://huggingface.co/…` URL (the endpoint replaces the host) or any other.
    pub url: &'a str,
    pub size: u64,
    /// Lower-case hex; checked when known (the hub gives it for LFS files only).
    pub sha256: Option<&'a str>,
}

impl<'a> From<&'a CatalogFile> for RemoteFile<'a> {
    fn from(file: &'a CatalogFile) -> Self {
        Self {
            file_name: &file.file_name,
            url: &file.url,
            size: file.size,
            sha256: Some(&file.sha256),
        }
    }
}

pub(super) enum FetchError {
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

pub(super) fn client(options: &PullOptions) -> anyhow::Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .user_agent(concat!("hearsay/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(30))
        .read_timeout(Duration::from_secs(120));
    if !options.use_env_proxy {
        builder = builder.no_proxy();
    }
    builder.build().context("cannot set up the HTTP client")
}

/// sha256 of `path` (of its first `limit` bytes, if given), off the async threads.
pub(super) async fn sha256_file(path: &Path, limit: Option<u64>) -> anyhow::Result<String> {
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
pub(super) async fn download(
    client: &reqwest::Client,
    file: RemoteFile<'_>,
    dir: &Path,
    options: &PullOptions,
) -> Result<PathBuf, FetchError> {
    let target = dir.join(file.file_name);
    let part = dir.join(format!("{}.part", file.file_name));
    let url = options.resolve_url(file.url);
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

        let mut request = get(client, &url, options);
        if have > 0 {
            request = request.header(RANGE, format!("bytes={have}-"));
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
            _ => return Err(status_error(&url, status, options).into()),
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

/// A GET of `url` (already resolved), with the token when it goes to the hub.
pub(super) fn get(
    client: &reqwest::Client,
    url: &str,
    options: &PullOptions,
) -> reqwest::RequestBuilder {
    let request = client.get(url);
    match &options.token {
        Some(token) if options.is_hub(url) => request.bearer_auth(token),
        _ => request,
    }
}

/// What an unexpected answer means, in one line.
pub(super) fn status_error(url: &str, status: StatusCode, options: &PullOptions) -> anyhow::Error {
    match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            let hint = if options.token.is_some() {
                "check that HF_TOKEN is valid and may read this repository"
            } else {
                "the repository does not exist, or it is gated or private and needs HF_TOKEN \
                 set to an access token"
            };
            anyhow!("{url} answered {status}: {hint}")
        }
        StatusCode::NOT_FOUND => anyhow!("{url} answered {status}: it is not there"),
        _ => anyhow!("{url} answered {status}"),
    }
}

/// Checks the finished `.part` file's hash, then renames it into place and syncs the directory.
fn install(hasher: Sha256, file: RemoteFile, part: &Path, target: &Path) -> anyhow::Result<()> {
    let got = hex(&hasher.finalize());
    if let Some(expected) = file.sha256
        && got != expected
    {
        remove(part);
        bail!(
            "checksum mismatch for {}: expected sha256 {expected}, got {got}; the download was \
             deleted",
            file.file_name,
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

fn report_done(file: RemoteFile, target: &Path, options: &PullOptions) {
    if options.verbose {
        let checked = if file.sha256.is_some() {
            "sha256 verified"
        } else {
            "size verified"
        };
        eprintln!(
            "{}: {} downloaded, {checked}",
            target.display(),
            human_size(file.size)
        );
    }
}

fn remove(path: &Path) {
    let _ = std::fs::remove_file(path);
}

fn size_mismatch(file: RemoteFile, got: u64) -> FetchError {
    FetchError::Failed(anyhow!(
        "size mismatch for {}: expected {} bytes, the server has {}; nothing was installed",
        file.file_name,
        file.size,
        got
    ))
}

fn interrupted(file: RemoteFile, part: &Path, written: u64, error: &reqwest::Error) -> FetchError {
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
pub(super) fn classify(url: &str, error: reqwest::Error) -> FetchError {
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
pub(super) fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
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

fn progress_bar(file: RemoteFile, start: u64, options: &PullOptions) -> ProgressBar {
    if !options.progress_bars {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(file.size), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(file.file_name.to_owned());
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
    fn hex_is_lower_case() {
        assert_eq!(hex(&[0x00, 0xab, 0xff]), "00abff");
    }
}
