#!/usr/bin/env bash
# Installs what a fresh Debian/Ubuntu machine needs to build, run and test hearsay:
# apt packages, a Rust toolchain (if cargo is missing or too old) and a Python venv in .venv.
# Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

APT_PACKAGES=(
  build-essential cmake pkg-config  # whisper.cpp is compiled by whisper-rs-sys with cmake
  libopus-dev                       # Opus decoding (Ogg/WebM uploads)
  clang libclang-dev libsonic-dev   # espeak-ng built from source (bindgen; sonic without GitHub)
  libmp3lame-dev libavcodec-dev     # speech encoders: mp3 (LAME), aac (FFmpeg; bindgen via libclang)
  ffmpeg strace                     # tests: audio fixtures; proof that serve makes no network access
  python3 python3-venv python3-pip  # tests: model generator, openai SDK
  curl ca-certificates
)
missing=()
for package in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Rust 1.92 or newer (edition 2024; ort 2.0 needs 1.92).
if [ -f "$HOME/.cargo/env" ]; then . "$HOME/.cargo/env"; fi
rust_ok() {
  command -v cargo >/dev/null 2>&1 || return 1
  local minor
  minor="$(rustc --version | sed -E 's/^rustc 1\.([0-9]+).*/\1/')"
  [ "$minor" -ge 92 ]
}
if ! rust_ok; then
  echo "setup: installing the Rust toolchain with rustup"
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --component clippy,rustfmt
  . "$HOME/.cargo/env"
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
if ! .venv/bin/python -c "import numpy, openai, pytest" 2>/dev/null \
   || ! cmp -s scripts/requirements-test.txt .venv/.requirements-installed; then
  echo "setup: installing Python test packages into .venv"
  .venv/bin/python -m pip install -q --disable-pip-version-check -r scripts/requirements-test.txt
  cp scripts/requirements-test.txt .venv/.requirements-installed
fi
# ONNX Runtime's shared library for Piper voices, from the onnxruntime wheel on PyPI.
PYTHON=.venv/bin/python scripts/get_onnxruntime.sh
# espeak-ng data for Piper phonemization, from the piper-tts wheel on PyPI.
PYTHON=.venv/bin/python scripts/get_espeak_data.sh
echo "setup: done"
