#!/usr/bin/env bash
# Sets up a fresh machine, builds a release binary, fetches a default pair of models when none
# is installed, and serves the OpenAI audio API.
# Extra arguments go to `hearsay serve` (e.g. --port 9000 --models-dir /srv/models).
# HEARSAY_DEFAULT_MODELS names the pair (default: the multilingual whisper `base` and the
# English voice `en_US-lessac-medium`); set it empty to fetch nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
if [ -f "$HOME/.cargo/env" ]; then . "$HOME/.cargo/env"; fi
cargo build --release --bin hearsay
hearsay=target/release/hearsay

# The models directory in effect (flags, environment, --config file), as serve will use it.
models_dir=$("$hearsay" serve "$@" --print-config | sed -n 's/^models-dir = "\(.*\)"  # .*$/\1/p')
read -r -a defaults <<<"${HEARSAY_DEFAULT_MODELS-base en_US-lessac-medium}"
if [ -n "$models_dir" ] && [ "${#defaults[@]}" -gt 0 ]; then
  # Only kinds with nothing installed are fetched; offline, this is one line and serve goes on.
  "$hearsay" pull --if-missing --models-dir "$models_dir" "${defaults[@]}"
fi
exec "$hearsay" serve "$@"
