#!/usr/bin/env bash
# Sets up a fresh machine, builds a release binary and serves the OpenAI audio API.
# Extra arguments go to `hearsay serve` (e.g. --port 9000 --models-dir /srv/models).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
if [ -f "$HOME/.cargo/env" ]; then . "$HOME/.cargo/env"; fi
cargo build --release --bin hearsay
exec target/release/hearsay serve "$@"
