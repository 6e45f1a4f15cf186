use std::ffi::OsString;

use super::*;
use crate::models::convert::SourceFormat;

/// A directory that [`convert::detect`] calls a CTranslate2 checkpoint, with files that are
/// not one.
fn broken_ct2(dir: &Path) -> SourceDir {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("config.json"), b"{}").unwrap();
    std::fs::write(dir.join("model.bin"), b"not a CTranslate2 model").unwrap();
    std::fs::write(dir.join("vocabulary.txt"), b"a\nb\n").unwrap();
    SourceDir {
        id: "Systran/faster-whisper-tiny".into(),
        dir: dir.to_path_buf(),
        home: dir.to_path_buf(),
        format: SourceFormat::CTranslate2,
    }
}

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
    let pairs: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name| {
        pairs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into())
    }
}

#[test]
fn the_setting_alone_else_the_models_dir_then_the_user_cache() {
    let models = Path::new("/srv/models");
    let set = ConvertCache::with_env(Some(Path::new("/var/cache/h")), models, env(&[]));
    assert_eq!(set.dirs(), [PathBuf::from("/var/cache/h")]);

    let xdg = ConvertCache::with_env(
        None,
        models,
        env(&[("XDG_CACHE_HOME", "/xdg"), ("HOME", "/home/u")]),
    );
    assert_eq!(
        xdg.dirs(),
        [
            PathBuf::from("/srv/models/.hearsay-cache"),
            PathBuf::from("/xdg/hearsay/converted")
        ]
    );
    let home = ConvertCache::with_env(
        None,
        models,
        env(&[("XDG_CACHE_HOME", "relative"), ("HOME", "/home/u")]),
    );
    assert_eq!(
        home.dirs()[1],
        PathBuf::from("/home/u/.cache/hearsay/converted")
    );
    let bare = ConvertCache::with_env(None, models, env(&[]));
    assert_eq!(bare.dirs(), [PathBuf::from("/srv/models/.hearsay-cache")]);
}

#[test]
fn a_failed_conversion_says_why_and_leaves_no_entry() {
    let root = tempfile::tempdir().unwrap();
    let source = broken_ct2(&root.path().join("models/tiny"));
    let cache_dir = root.path().join("cache");
    let cache = ConvertCache::with_env(Some(&cache_dir), root.path(), env(&[]));

    let reason = cache.prepare(&source).unwrap_err();

    assert!(reason.contains("CTranslate2"), "{reason}");
    let mut left: Vec<String> = std::fs::read_dir(&cache_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, [CACHEDIR_TAG]);
    let tag = std::fs::read_to_string(cache_dir.join(CACHEDIR_TAG)).unwrap();
    assert!(tag.starts_with("Signature: 8a477f597d28d172789f06886806bc55"));
    assert_eq!(cache.lookup(&source), None);
}

#[test]
fn a_cache_that_cannot_be_written_is_one_line_naming_the_setting() {
    let root = tempfile::tempdir().unwrap();
    let source = broken_ct2(&root.path().join("tiny"));
    let file = root.path().join("a-file");
    std::fs::write(&file, b"").unwrap();
    let cache = ConvertCache::with_env(Some(&file.join("cache")), root.path(), env(&[]));

    let reason = cache.prepare(&source).unwrap_err();

    assert!(
        reason.starts_with("no conversion cache can be written"),
        "{reason}"
    );
    assert!(reason.contains("--convert-cache"), "{reason}");
    assert!(!reason.contains('\n'), "{reason}");
}

#[test]
fn the_key_follows_names_sizes_and_times_and_ignores_hidden_files() {
    let root = tempfile::tempdir().unwrap();
    let source = broken_ct2(&root.path().join("tiny"));
    let first = source_key(&source).unwrap();
    assert!(first.contains("file \"model.bin\" 23 "), "{first}");
    assert!(first.starts_with(&format!("hearsay conversion {CONVERTER_REVISION}\n")));

    std::fs::write(source.dir.join(".lock"), b"x").unwrap();
    assert_eq!(source_key(&source).unwrap(), first);

    std::fs::write(source.dir.join("model.bin"), b"not a CTranslate2 model!").unwrap();
    let resized = source_key(&source).unwrap();
    assert_ne!(resized, first);

    let file = std::fs::File::options()
        .write(true)
        .open(source.dir.join("model.bin"))
        .unwrap();
    file.set_modified(UNIX_EPOCH + std::time::Duration::from_secs(1))
        .unwrap();
    assert_ne!(source_key(&source).unwrap(), resized);
}

#[test]
fn entries_are_named_after_the_id_and_unique_per_location() {
    let root = tempfile::tempdir().unwrap();
    let one = broken_ct2(&root.path().join("one"));
    let two = SourceDir {
        home: root.path().join("two"),
        ..one.clone()
    };
    let stem_one = entry_stem(&one);
    assert!(
        stem_one.starts_with("Systran_faster-whisper-tiny-"),
        "{stem_one}"
    );
    assert_eq!(stem_one.len(), "Systran_faster-whisper-tiny-".len() + 16);
    assert_ne!(stem_one, entry_stem(&two));
    let hidden = SourceDir {
        id: "../..hidden".into(),
        ..one
    };
    assert!(
        !entry_stem(&hidden).starts_with('.'),
        "{}",
        entry_stem(&hidden)
    );
}

#[test]
fn serve_sources_skips_a_checkpoint_that_cannot_be_converted() {
    let root = tempfile::tempdir().unwrap();
    let source = broken_ct2(&root.path().join("tiny"));
    let mut inventory = Inventory {
        sources: vec![source.clone()],
        ..Inventory::default()
    };
    let cache = ConvertCache::with_env(Some(&root.path().join("cache")), root.path(), env(&[]));

    serve_sources(&mut inventory, &cache);

    assert!(inventory.stt.is_empty());
    assert!(inventory.sources.is_empty());
    assert_eq!(inventory.rejected.len(), 1);
    assert_eq!(inventory.rejected[0].0, source.dir);
}
