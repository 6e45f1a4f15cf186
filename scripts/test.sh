#!/usr/bin/env bash
# Sets up a fresh machine and runs every test: formatting, lints, Rust unit and HTTP tests,
# the official openai Python SDK against the real server, and real speech on real weights
# against faster-whisper.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
if [ -f "$HOME/.cargo/env" ]; then . "$HOME/.cargo/env"; fi
export HEARSAY_PYTHON="$PWD/.venv/bin/python"

echo "== cargo fmt --check"
cargo fmt --check
echo "== cargo clippy"
cargo clippy --all-targets --quiet -- -D warnings
echo "== real weights and speech (scripts/get_real_assets.sh)"
cargo build --quiet --bin hearsay
HEARSAY_BIN="$PWD/target/debug/hearsay" PYTHON=.venv/bin/python scripts/get_real_assets.sh
echo "== cargo test"
cargo test --all-targets
echo "== openai SDK tests"
HEARSAY_BIN="$PWD/target/debug/hearsay" .venv/bin/python -m pytest -q tests/sdk
echo "== real speech: hearsay against faster-whisper on the same weights"
HEARSAY_BIN="$PWD/target/debug/hearsay" .venv/bin/python -m pytest -q -p no:cacheprovider tests/real
