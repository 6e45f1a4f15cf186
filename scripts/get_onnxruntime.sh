#!/usr/bin/env bash
# Installs ONNX Runtime's shared library (used by hearsay's text-to-speech) into
# share/onnxruntime/, taken from the official PyPI wheel: the wheel's
# onnxruntime/capi/libonnxruntime.so.<version> is the plain C library (glibc >= 2.28,
# needs only libc, libstdc++, libgcc_s and libm), and the same file ships in every
# Python-version wheel. No Python package is installed; pip only downloads the wheel.
#
# Usage: scripts/get_onnxruntime.sh [DEST_DIR]   (default share/onnxruntime; relative to the repo)
# Safe to run again: does nothing (and needs no network) when the library is present.
# hearsay finds the library there by itself; elsewhere, pass --onnxruntime PATH or set
# ORT_DYLIB_PATH.
set -euo pipefail
cd "$(dirname "$0")/.."

ORT_VERSION="1.31.1"
DEST="${1:-share/onnxruntime}"
LIB="libonnxruntime.so.${ORT_VERSION}"

link_names() {
  ln -sfn "$LIB" "$DEST/libonnxruntime.so.1"
  ln -sfn "$LIB" "$DEST/libonnxruntime.so"
}

if [ -s "$DEST/$LIB" ]; then
  link_names
  echo "get_onnxruntime: ONNX Runtime ${ORT_VERSION} already in $DEST"
  exit 0
fi

case "$(uname -m)" in
  x86_64 | amd64) PLATFORM="manylinux_2_28_x86_64" ;;
  aarch64 | arm64) PLATFORM="manylinux_2_28_aarch64" ;;
  *)
    echo "get_onnxruntime: no ONNX Runtime wheel for $(uname -m); build ONNX Runtime ${ORT_VERSION}" >&2
    echo "  yourself and pass its libonnxruntime.so to hearsay with --onnxruntime PATH" >&2
    exit 1
    ;;
esac
if [ "$(uname -s)" != "Linux" ]; then
  echo "get_onnxruntime: only Linux is handled; pass your libonnxruntime to hearsay with --onnxruntime PATH" >&2
  exit 1
fi

PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -m pip --version >/dev/null 2>&1; then
  echo "get_onnxruntime: needs '$PYTHON -m pip' (apt-get install python3-pip, or run scripts/setup.sh)" >&2
  exit 1
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

echo "get_onnxruntime: downloading the onnxruntime ${ORT_VERSION} wheel ($PLATFORM) from PyPI"
"$PYTHON" -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
  --platform "$PLATFORM" --python-version 3.12 "onnxruntime==${ORT_VERSION}" -d "$WORK/wheel"
WHEEL=""
for candidate in "$WORK"/wheel/onnxruntime-"${ORT_VERSION}"-*.whl; do
  [ -f "$candidate" ] && WHEEL="$candidate" && break
done
if [ -z "$WHEEL" ]; then
  echo "get_onnxruntime: pip did not produce an onnxruntime ${ORT_VERSION} wheel" >&2
  exit 1
fi

# Extract only onnxruntime/capi/libonnxruntime* (python's zipfile: no dependency on unzip).
"$PYTHON" - "$WHEEL" "$WORK/lib" <<'EOF'
import os, shutil, sys, zipfile
wheel, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
with zipfile.ZipFile(wheel) as archive:
    names = [n for n in archive.namelist()
             if n.startswith("onnxruntime/capi/libonnxruntime") and not n.endswith("/")]
    if not names:
        sys.exit("get_onnxruntime: no onnxruntime/capi/libonnxruntime* in " + wheel)
    for name in names:
        with archive.open(name) as src, open(os.path.join(out, os.path.basename(name)), "wb") as dst:
            shutil.copyfileobj(src, dst)
EOF
if [ ! -s "$WORK/lib/$LIB" ]; then
  echo "get_onnxruntime: the wheel has no $LIB (found: $(ls "$WORK/lib"))" >&2
  exit 1
fi

# Move into place; the versioned library goes last so a half-finished run is not "present".
mkdir -p "$DEST"
for file in "$WORK"/lib/*; do
  name="$(basename "$file")"
  [ "$name" = "$LIB" ] && continue
  mv -f "$file" "$DEST/$name"
done
mv -f "$WORK/lib/$LIB" "$DEST/$LIB.partial"
mv -f "$DEST/$LIB.partial" "$DEST/$LIB"
link_names
echo "get_onnxruntime: installed ONNX Runtime ${ORT_VERSION} in $DEST"
