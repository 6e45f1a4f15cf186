#!/usr/bin/env bash
# Sets up a fresh machine and runs every test: formatting, lints, Rust unit and HTTP tests,
# and the official openai Python SDK against the real server.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
if [ -f "$HOME/.cargo/env" ]; then . "$HOME/.cargo/env"; fi
export HEARSAY_PYTHON="$PWD/.venv/bin/python"

echo "== cargo fmt --check"
cargo fmt --check
echo "== cargo clippy"
cargo clippy --all-targets --quiet -- -D warnings
echo "== cargo test"
cargo test --all-targets
echo "== openai SDK tests"
cargo build --quiet --bin hearsay
HEARSAY_BIN="$PWD/target/debug/hearsay" .venv/bin/python -m pytest -q tests/sdk
