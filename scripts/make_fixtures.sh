#!/usr/bin/env bash
# Regenerates the small audio fixtures in tests/fixtures/ from one source: a 440 Hz sine at
# amplitude 0.5 (identical in every channel, so a mono downmix keeps RMS ~0.354).
#
# Compressed files hold 1.5 s. The PCM WAVs are shorter so that each file stays small
# (1.5 s of 16-bit stereo 44.1 kHz alone is 265 KB); their durations are listed below and
# mirrored in src/audio/decode/tests.rs.
#
# Bit-exact flags and stripped metadata make re-runs produce identical bytes with the same
# ffmpeg build (checked with ffmpeg 5.1). Needs ffmpeg (with libmp3lame, libvorbis, libopus)
# and python3.
set -euo pipefail

cd "$(dirname "$0")/.."
out=tests/fixtures
mkdir -p "$out"

tone='0.5*sin(2*PI*440*t)'

# The lavfi source of the tone: $1 = sample rate, $2 = seconds, $3 = channel count.
src() {
    local expr="$tone"
    for _ in $(seq 2 "$3"); do expr="$expr|$tone"; done
    echo "aevalsrc=${expr}:s=$1:d=$2"
}

ff() {
    ffmpeg -hide_banner -loglevel error -nostdin -y "$@"
}

# Common output flags: no metadata, no encoder tags, no random ids.
bx=(-map_metadata -1 -fflags +bitexact -flags:a +bitexact)

stereo15=(-f lavfi -i "$(src 44100 1.5 2)")

# PCM WAVs (short, see above).
ff -f lavfi -i "$(src 44100 0.25 2)" "${bx[@]}" -c:a pcm_s16le "$out/tone.wav"
ff -f lavfi -i "$(src 48000 0.125 6)" "${bx[@]}" -c:a pcm_s16le "$out/tone-48k-6ch.wav"
ff -f lavfi -i "$(src 8000 1.5 1)" "${bx[@]}" -c:a pcm_u8 "$out/tone-8k-u8.wav"
ff -f lavfi -i "$(src 44100 0.05 2)" "${bx[@]}" -c:a pcm_s16le "$out/short-50ms.wav"

# Compressed, 1.5 s. FLAC at 22.05 kHz keeps it under 50 KB (a pure tone barely compresses).
# Ogg pages of 200 ms, as recorders write them, so a truncated upload still has whole pages.
ff -f lavfi -i "$(src 22050 1.5 2)" "${bx[@]}" -c:a flac -compression_level 8 "$out/tone.flac"
ff "${stereo15[@]}" "${bx[@]}" -c:a libmp3lame -b:a 64k -write_xing 1 "$out/tone.mp3"
ff "${stereo15[@]}" "${bx[@]}" -c:a aac -b:a 64k -f ipod "$out/tone.m4a"
ff "${stereo15[@]}" "${bx[@]}" -c:a aac -b:a 64k -f mp4 -brand mp42 "$out/tone.mp4"
ff "${stereo15[@]}" "${bx[@]}" -c:a mp2 -b:a 96k -f mp2 "$out/tone.mpga"
ff "${stereo15[@]}" "${bx[@]}" -c:a libvorbis -q:a 0 -f ogg -page_duration 200000 "$out/tone.ogg"
ff -f lavfi -i "$(src 48000 1.5 2)" "${bx[@]}" -c:a libopus -b:a 48k -f ogg -page_duration 200000 "$out/tone.oga"
ff -f lavfi -i "$(src 48000 1.5 2)" "${bx[@]}" -c:a libopus -b:a 48k -f webm "$out/tone.webm"

# What a browser's MediaRecorder sends: WebM written to a pipe, so the Segment has an
# unknown size and there are no Cues or Duration. ffmpeg still sizes each Cluster, so rewrite
# every Cluster size to "unknown" as Chrome and Firefox do.
ff -f lavfi -i "$(src 48000 1.5 2)" "${bx[@]}" -c:a libopus -b:a 48k -f webm -live 1 pipe:1 \
    | python3 -c '
import sys

def vint(d, i):
    """Returns (value, length) of the EBML variable-size integer at d[i]."""
    n = 1
    while not d[i] & (0x80 >> (n - 1)):
        n += 1
    v = d[i] & (0xFF >> n)
    for b in d[i + 1 : i + n]:
        v = (v << 8) | b
    return v, n

d = sys.stdin.buffer.read()
seg = d.index(bytes.fromhex("18538067"))
_, n = vint(d, seg + 4)
out = bytearray(d[: seg + 4 + n])
i = seg + 4 + n
while i < len(d):
    _, idlen = vint(d, i)
    eid = d[i : i + idlen]
    size, n = vint(d, i + idlen)
    body = d[i + idlen + n : i + idlen + n + size]
    if eid == bytes.fromhex("1f43b675"):
        out += eid + bytes.fromhex("01ffffffffffffff") + body
    else:
        out += d[i : i + idlen + n + size]
    i += idlen + n + size
sys.stdout.buffer.write(out)
' > "$out/tone-live.webm"

# No audio at all: a screen recording without sound.
ff -f lavfi -i color=c=black:s=16x16:d=0.2:r=5 "${bx[@]}" -flags:v +bitexact -c:v mjpeg -f mp4 \
    "$out/video-only.mp4"

ls -l "$out"
