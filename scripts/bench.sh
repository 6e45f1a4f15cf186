#!/usr/bin/env bash
# Runs every benchmark (issues 5 and 11) and writes target/bench-report.md (see BENCHMARKS.md).
# Run scripts/setup.sh first on a fresh clone. Takes a long while on 2 cores (the openmp STT
# build alone compiles whisper.cpp again); figures are only comparable inside one run.
#
#   scripts/bench.sh            everything, "10-minute" inputs of 600 s
#   BENCH_QUICK=1 scripts/bench.sh   long inputs of 120 s, 3 timed runs each (HEARSAY_BENCH_RUNS)
#                                    instead of Criterion's 10+, memory over 200 requests, no openmp
#
# Every bench appends `bench  name  value  unit  target  hit  tag` lines (tab-separated) to
# target/bench-results.tsv; the report is that table. Criterion keeps the raw times under
# target/criterion/.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -f "$HOME/.cargo/env" ]; then . "$HOME/.cargo/env"; fi
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"
PY="$PWD/.venv/bin/python"
[ -x "$PY" ] || PY=python3
export HEARSAY_PYTHON="$PY"

QUICK="${BENCH_QUICK:-0}"
LONG=600
REQUESTS=1000
if [ "$QUICK" = 1 ]; then LONG=120; REQUESTS=200; export HEARSAY_BENCH_RUNS="${HEARSAY_BENCH_RUNS:-3}"; fi
export HEARSAY_BENCH_LONG_SECONDS="${HEARSAY_BENCH_LONG_SECONDS:-$LONG}"
RESULTS="$PWD/target/bench-results.tsv"
export HEARSAY_BENCH_RESULTS="$RESULTS"
MODELS="$PWD/target/bench-models"
export HEARSAY_BENCH_MODELS="$MODELS"
mkdir -p target
: > "$RESULTS"

echo "== bench models (generated, never committed: $MODELS)"
for preset in tiny base; do
  [ -f "$MODELS/stt/scripted-$preset.bin" ] || "$PY" scripts/make_test_models.py "$MODELS/stt" --preset "$preset"
  [ -f "$MODELS/stt/scripted-$preset-q8_0.bin" ] || "$PY" scripts/make_test_models.py "$MODELS/stt" --preset "$preset" --q8_0
done
[ -f "$MODELS/vad/vad-energy.bin" ] || "$PY" scripts/make_test_models.py "$MODELS/vad" --only vad-energy
[ -f "$MODELS/voices/medium-random.onnx" ] || "$PY" scripts/make_test_voices.py "$MODELS/voices" --medium

bench() { # bench NAME [env assignments...]
  local name="$1"; shift
  echo "== cargo bench --bench $name $*"
  env "$@" cargo bench --bench "$name" 2>&1 | tee -a target/bench-log.txt | grep -E '^(RESULT|skipped)' || true
}
: > target/bench-log.txt

bench decode
bench encode
bench tts
# STT: tiny f16 with 2 threads (server overhead on the 30 s clip and the long file, flash
# attention and q8_0 on the clip), then the sweep on the clip only.
bench stt HEARSAY_BENCH_THREADS=2 HEARSAY_BENCH_TAG="tiny 2t"
bench stt HEARSAY_BENCH_THREADS=1 HEARSAY_BENCH_LONG_SECONDS=0 HEARSAY_BENCH_TAG="tiny 1t"
bench stt HEARSAY_BENCH_MODEL=base HEARSAY_BENCH_LONG_SECONDS=0 HEARSAY_BENCH_TAG="base 2t"
bench stt HEARSAY_BENCH_QUANT=q8_0 HEARSAY_BENCH_LONG_SECONDS=0 HEARSAY_BENCH_TAG="tiny q8_0 2t"
if [ "$QUICK" != 1 ]; then
  echo "== cargo bench --features openmp --bench stt (rebuilds whisper.cpp with OpenMP)"
  HEARSAY_BENCH_LONG_SECONDS=0 HEARSAY_BENCH_TAG="tiny 2t openmp" \
    cargo bench --features openmp --bench stt 2>&1 | tee -a target/bench-log.txt | grep -E '^(RESULT|skipped)' || true
fi
bench server

echo "== release binary (faster-whisper comparison, memory)"
cargo build --release --quiet --bin hearsay

# STT throughput against faster-whisper int8 on the same weights (scripted base, converted by
# scripts/make_ct2_model.py), the same synthetic file and threads. faster-whisper comes with
# the test packages (scripts/requirements-test.txt, installed by scripts/setup.sh).
bench_faster_whisper() {
  local ct2="$MODELS/ct2/scripted-base-int8"
  [ -f "$ct2/model.bin" ] \
    || "$PY" scripts/make_ct2_model.py "$MODELS/stt/scripted-base.bin" "$ct2" --quantization int8
  "$PY" scripts/bench_stt_vs_faster_whisper.py --binary target/release/hearsay \
    --ggml "$MODELS/stt/scripted-base.bin" --ct2 "$ct2" --seconds "$HEARSAY_BENCH_LONG_SECONDS" \
    --threads 2 --repeat "${HEARSAY_BENCH_RUNS:-3}" --tsv "$RESULTS" --tag "base, 2 threads"
}

echo "== faster-whisper (scripts/bench_faster_whisper.py)"
bench_faster_whisper || echo "skipped: faster-whisper comparison failed"

# Real weights and real speech against faster-whisper on the original CTranslate2 files, with
# the WER beside every time (benches/real.rs, scripts/bench_real.py).
echo "== real weights (scripts/get_real_assets.sh, then cargo bench --bench real)"
if HEARSAY_BIN=target/release/hearsay PYTHON="$PY" scripts/get_real_assets.sh; then
  REAL_ROUNDS=3; [ "$QUICK" = 1 ] && REAL_ROUNDS=1
  bench real HEARSAY_BENCH_RUNS="$REAL_ROUNDS" HEARSAY_BENCH_TAG="real, 2 threads"
else
  echo "skipped: the real assets could not be fetched"
fi

echo "== memory (release binary)"
"$PY" scripts/bench_memory.py --binary target/release/hearsay \
  --stt "$MODELS/stt/scripted-tiny.bin" --voice "$MODELS/voices/medium-random.onnx" \
  --requests "$REQUESTS" --results "$RESULTS" || echo "skipped: memory bench failed"

echo "== report"
{
  echo "# hearsay bench report"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'), long inputs ${HEARSAY_BENCH_LONG_SECONDS} s"
  echo
  echo '```'
  lscpu | grep -E '^(Model name|CPU\(s\)|Thread|Core|Socket|L2|L3|Flags)' | cut -c1-200
  uptime
  echo '```'
  echo
  echo "| bench | measure | value | unit | target | hit | settings |"
  echo "|---|---|---|---|---|---|---|"
  awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7 }' "$RESULTS"
} > target/bench-report.md
cat target/bench-report.md
