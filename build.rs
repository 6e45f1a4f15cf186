//! Link settings that the `espeak-rs-sys` crate leaves out.
//!
//! espeak-rs-sys builds espeak-ng 1.52 from its vendored source with CMake and links the
//! static library, but not the system libraries that CMake chose to use: libsonic (required
//! offline: without it CMake clones sonic from GitHub) and libpcaudio (optional; only used
//! when its headers are installed). We look for them the way espeak-ng's cmake/deps.cmake
//! does, by their headers, and link what it will have used.

use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("linux") {
        return;
    }
    if has_header("sonic.h") {
        println!("cargo:rustc-link-lib=dylib=sonic");
    }
    if has_header("pcaudiolib/audio.h") {
        println!("cargo:rustc-link-lib=dylib=pcaudio");
    }
}

/// Whether a system include directory has `name` (CMake's find_path on the default prefixes).
fn has_header(name: &str) -> bool {
    ["/usr/include", "/usr/local/include"]
        .iter()
        .any(|dir| Path::new(dir).join(name).is_file())
}
