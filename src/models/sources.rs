//! Whisper checkpoints in other formats found in the models directory: faster-whisper
//! (CTranslate2) and transformers directories, and Hugging Face hub caches holding them
//! (`models--Systran--faster-whisper-small/snapshots/<rev>/`, as speaches keeps its models).
//! The scan asks [`classify`] about every directory it meets.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::convert::{self, SourceFormat};

/// A directory that the cache marks as such (<https://bford.info/cachedir/>) is never searched.
pub const CACHEDIR_TAG: &str = "CACHEDIR.TAG";

/// A checkpoint directory to serve after conversion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceDir {
    /// The id clients use: the directory's name, or for a hub cache the repository id
    /// (`Systran/faster-whisper-small`), as speaches users send it.
    pub id: String,
    /// The checkpoint itself (for a hub cache, the snapshot chosen).
    pub dir: PathBuf,
    /// What the conversion cache is keyed to: the hub cache's repository folder, which stays
    /// when a new snapshot arrives, else the checkpoint directory.
    pub home: PathBuf,
    pub format: SourceFormat,
}

/// What the scan does with a directory.
#[derive(Debug)]
pub enum DirKind {
    /// A checkpoint: served after conversion, and not searched further.
    Source(SourceDir),
    /// Hidden (hearsay's cache and unfinished pulls live in such directories) or a tagged cache.
    Skip,
    /// A checkpoint that cannot be served, with the reason.
    Rejected(String),
    /// Anything else: searched for model files.
    Search,
}

/// Classifies a directory below the models directory.
pub fn classify(dir: &Path) -> DirKind {
    let Some(name) = dir.file_name() else {
        return DirKind::Search;
    };
    if name.as_encoded_bytes().starts_with(b".") || dir.join(CACHEDIR_TAG).is_file() {
        return DirKind::Skip;
    }
    classify_named(dir)
}

/// Classifies the models directory itself, which may be one checkpoint.
pub fn classify_root(dir: &Path) -> DirKind {
    let named = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    match classify_named(&named) {
        DirKind::Source(source) => DirKind::Source(SourceDir {
            dir: dir.to_path_buf(),
            home: dir.to_path_buf(),
            ..source
        }),
        _ => DirKind::Search,
    }
}

fn classify_named(dir: &Path) -> DirKind {
    let name = dir.file_name().and_then(|n| n.to_str());
    if let Some(repo) = name.and_then(|n| n.strip_prefix("models--")) {
        return match hub_snapshot(dir) {
            Some((snapshot, format)) => DirKind::Source(SourceDir {
                id: repo_id(repo),
                dir: snapshot,
                home: dir.to_path_buf(),
                format,
            }),
            // Hub caches also hold ggml files (`ggerganov/whisper.cpp`): search them.
            None => DirKind::Search,
        };
    }
    let Some(format) = convert::detect(dir) else {
        return DirKind::Search;
    };
    match name {
        Some(id) => DirKind::Source(SourceDir {
            id: id.to_owned(),
            dir: dir.to_path_buf(),
            home: dir.to_path_buf(),
            format,
        }),
        None => DirKind::Rejected("the directory name is not valid UTF-8".into()),
    }
}

/// `Systran--faster-whisper-small` → `Systran/faster-whisper-small` (the hub forbids `--` in
/// names, so the first one is the separator).
fn repo_id(folder: &str) -> String {
    match folder.split_once("--") {
        Some((owner, name)) => format!("{owner}/{name}"),
        None => folder.to_owned(),
    }
}

/// The snapshot a hub cache serves: the one `refs/main` names, else the newest that holds a
/// checkpoint (ties go to the name, so the choice is stable).
fn hub_snapshot(repo_dir: &Path) -> Option<(PathBuf, SourceFormat)> {
    let snapshots = repo_dir.join("snapshots");
    if let Some(revision) = read_ref(&repo_dir.join("refs").join("main")) {
        let dir = snapshots.join(revision);
        if let Some(format) = convert::detect(&dir) {
            return Some((dir, format));
        }
    }
    let mut best: Option<(std::time::SystemTime, PathBuf, SourceFormat)> = None;
    for entry in std::fs::read_dir(&snapshots).ok()?.flatten() {
        let dir = entry.path();
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let Some(format) = convert::detect(&dir) else {
            continue;
        };
        let modified = entry
            .metadata()
            .and_then(|m| m.modified())
            .unwrap_or(std::time::UNIX_EPOCH);
        let newer = best
            .as_ref()
            .is_none_or(|(time, path, _)| (modified, &dir) > (*time, path));
        if newer {
            best = Some((modified, dir, format));
        }
    }
    best.map(|(_, dir, format)| (dir, format))
}

/// A revision from a `refs/` file: a commit hash, nothing that could leave `snapshots/`.
fn read_ref(path: &Path) -> Option<String> {
    let mut text = String::new();
    std::fs::File::open(path)
        .ok()?
        .take(256)
        .read_to_string(&mut text)
        .ok()?;
    let revision = text.trim();
    let plain = !revision.is_empty()
        && revision.len() <= 128
        && revision.bytes().all(|b| b.is_ascii_alphanumeric());
    plain.then(|| revision.to_owned())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Just enough files for [`convert::detect`] to call `dir` a CTranslate2 checkpoint.
    pub(crate) fn ct2_dir(dir: &Path) {
        std::fs::create_dir_all(dir).unwrap();
        for name in ["config.json", "model.bin", "vocabulary.txt"] {
            std::fs::write(dir.join(name), b"x").unwrap();
        }
    }

    fn source(kind: DirKind) -> SourceDir {
        match kind {
            DirKind::Source(source) => source,
            other => panic!("not a source: {other:?}"),
        }
    }

    #[test]
    fn a_checkpoint_directory_is_a_source_named_after_it() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("faster-whisper-tiny.en");
        ct2_dir(&dir);
        let found = source(classify(&dir));
        assert_eq!(found.id, "faster-whisper-tiny.en");
        assert_eq!((found.dir.as_path(), found.home.as_path()), (&*dir, &*dir));
        assert_eq!(found.format, SourceFormat::CTranslate2);
        let plain = root.path().join("plain");
        std::fs::create_dir(&plain).unwrap();
        assert!(matches!(classify(&plain), DirKind::Search));
    }

    #[test]
    fn hidden_and_tagged_directories_are_skipped() {
        let root = tempfile::tempdir().unwrap();
        let hidden = root.path().join(".staging");
        ct2_dir(&hidden);
        assert!(matches!(classify(&hidden), DirKind::Skip));
        let tagged = root.path().join("cache");
        ct2_dir(&tagged);
        std::fs::write(
            tagged.join(CACHEDIR_TAG),
            b"Signature: 8a477f597d28d172789f06886806bc55",
        )
        .unwrap();
        assert!(matches!(classify(&tagged), DirKind::Skip));
    }

    #[test]
    fn a_hub_cache_serves_the_snapshot_main_names_under_the_repo_id() {
        let root = tempfile::tempdir().unwrap();
        let repo = root.path().join("models--Systran--faster-whisper-small");
        ct2_dir(&repo.join("snapshots/aaa111"));
        ct2_dir(&repo.join("snapshots/bbb222"));
        std::fs::create_dir_all(repo.join("refs")).unwrap();
        std::fs::write(repo.join("refs/main"), "aaa111\n").unwrap();

        let found = source(classify(&repo));
        assert_eq!(found.id, "Systran/faster-whisper-small");
        assert_eq!(found.dir, repo.join("snapshots/aaa111"));
        assert_eq!(found.home, repo);

        // A ref that points outside `snapshots/` is ignored; a checkpoint is still chosen.
        std::fs::write(repo.join("refs/main"), "../../../etc").unwrap();
        let found = source(classify(&repo));
        assert!(found.dir.starts_with(repo.join("snapshots")), "{found:?}");
    }

    #[test]
    fn a_hub_cache_without_a_checkpoint_is_searched() {
        let root = tempfile::tempdir().unwrap();
        let repo = root.path().join("models--ggerganov--whisper.cpp");
        std::fs::create_dir_all(repo.join("snapshots/abc")).unwrap();
        assert!(matches!(classify(&repo), DirKind::Search));
        assert_eq!(repo_id("single"), "single");
    }

    #[test]
    fn the_models_directory_itself_may_be_a_checkpoint() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("tiny");
        ct2_dir(&dir);
        let found = source(classify_root(&dir.join(".")));
        assert_eq!(found.id, "tiny");
        assert!(matches!(classify_root(root.path()), DirKind::Search));
    }
}
