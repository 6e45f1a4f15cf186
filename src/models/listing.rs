//! `hearsay models`: what the models directory holds, then what the catalog can pull.

use std::fmt::Write as _;
use std::path::Path;

use super::catalog::{Catalog, ModelKind, human_size};
use super::convert_cache::ConvertCache;

/// `hearsay models`: what is installed in `models_dir`, then the built-in catalog.
/// `convert_cache` is the `--convert-cache` setting.
pub fn list(models_dir: &Path, convert_cache: Option<&Path>) -> anyhow::Result<String> {
    let cache = ConvertCache::new(convert_cache, models_dir);
    Ok(list_with(Catalog::builtin()?, models_dir, &cache))
}

/// [`list`] with any catalog and cache.
pub fn list_with(catalog: &Catalog, models_dir: &Path, cache: &ConvertCache) -> String {
    let inventory = super::scan(models_dir);

    // (id, kind, size, path)
    let mut installed: Vec<(String, &str, u64, String)> = Vec::new();
    for model in &inventory.stt {
        let path = model.path.display().to_string();
        installed.push((model.id.clone(), "whisper", model.info.file_bytes, path));
    }
    for source in &inventory.sources {
        let (size, state) = match cache.lookup(source) {
            Some(path) => (
                std::fs::metadata(&path).map_or(0, |m| m.len()),
                format!("converted: {}", path.display()),
            ),
            None => (
                directory_bytes(&source.dir),
                "converted when the server starts".to_owned(),
            ),
        };
        let path = format!(
            "{} ({}; {state})",
            source.dir.display(),
            source.format.name()
        );
        installed.push((source.id.clone(), "whisper", size, path));
    }
    installed.sort_by(|a, b| a.0.cmp(&b.0));
    for model in &inventory.vad {
        let size = std::fs::metadata(&model.path).map_or(0, |m| m.len());
        installed.push((
            model.id.clone(),
            "vad",
            size,
            model.path.display().to_string(),
        ));
    }
    for voice in &inventory.voices {
        let size = std::fs::metadata(&voice.model_path).map_or(0, |m| m.len());
        let path = voice.model_path.display().to_string();
        installed.push((voice.id.clone(), "voice", size, path));
    }

    let mut out = String::new();
    let _ = writeln!(out, "Installed in {}:", models_dir.display());
    if installed.is_empty() {
        let _ = writeln!(out, "  (none)");
    } else {
        let width = installed
            .iter()
            .map(|m| m.0.len())
            .max()
            .unwrap_or(0)
            .max(2);
        let _ = writeln!(out, "  {:width$}  {:7}  {:>9}  FILE", "ID", "KIND", "SIZE");
        for (id, kind, size, path) in &installed {
            let size = human_size(*size);
            let _ = writeln!(out, "  {id:width$}  {kind:7}  {size:>9}  {path}");
        }
    }
    let rejected: Vec<_> = inventory
        .rejected
        .iter()
        .chain(&inventory.rejected_voices)
        .collect();
    if !rejected.is_empty() {
        let _ = writeln!(out, "Skipped:");
        for (path, reason) in rejected {
            let _ = writeln!(out, "  {}: {reason}", path.display());
        }
    }

    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "Catalog (install with `hearsay pull ID`; `hearsay pull OWNER/NAME` converts any \
         Whisper repository on Hugging Face, e.g. Systran/faster-whisper-small):"
    );
    let width = catalog
        .models()
        .iter()
        .map(|m| m.id.len())
        .max()
        .unwrap_or(0)
        .max(2);
    let _ = writeln!(out, "  {:width$}  {:7}  {:>9}", "ID", "KIND", "SIZE");
    for model in catalog.models() {
        let legacy = format!("ggml-{}", model.id);
        let status = if installed.iter().any(|m| m.0 == model.id) {
            "installed".to_string()
        } else if model.kind != ModelKind::Voice && installed.iter().any(|m| m.0 == legacy) {
            format!("installed as {legacy}")
        } else {
            String::new()
        };
        let line = format!(
            "  {:width$}  {:7}  {:>9}  {status}",
            model.id,
            model.kind.as_str(),
            human_size(model.size())
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
    out
}

/// The bytes of the files directly in `dir` (links followed, as in a hub cache).
fn directory_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|entry| std::fs::metadata(entry.path()).ok())
                .filter(|meta| meta.is_file())
                .map(|meta| meta.len())
                .sum()
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_marks_installed_models() {
        let dir = tempfile::tempdir().unwrap();
        let catalog = Catalog::builtin().unwrap();
        let cache = ConvertCache::new(None, dir.path());
        let text = list_with(catalog, dir.path(), &cache);
        assert!(text.contains("(none)"), "{text}");
        assert!(text.contains("large-v3-turbo-q8_0"), "{text}");
        assert!(!text.contains("installed\n"), "{text}");

        // A file that is not a model is reported as skipped, not installed.
        std::fs::write(dir.path().join("tiny.bin"), b"not a model").unwrap();
        let text = list_with(catalog, dir.path(), &cache);
        assert!(text.contains("Skipped:"), "{text}");
        assert!(!text.contains("installed\n"), "{text}");
    }
}
