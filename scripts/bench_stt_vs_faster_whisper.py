#!/usr/bin/env python3
"""hearsay against faster-whisper on the same weights, file and threads.

Starts the release binary on a models directory holding only GGML (a scripted bench model),
times `POST /v1/audio/transcriptions` of one synthetic file (language de, text), then runs
scripts/bench_faster_whisper.py on the CTranslate2 conversion of the same weights
(scripts/make_ct2_model.py) with the same threads, and reports the throughput ratio
faster-whisper time / hearsay time (the target is at least 1). Prints JSON; with --tsv
appends bench.sh result lines.
"""

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_faster_whisper import write_synth_wav  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, seconds: float = 120.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/ready", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("hearsay did not become ready")


def time_hearsay(binary: str, ggml: str, audio: str, threads: int, repeat: int) -> tuple[list[float], str]:
    models = tempfile.mkdtemp(prefix="bench-vs-fw-")
    os.symlink(os.path.abspath(ggml), os.path.join(models, os.path.basename(ggml)))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [binary, "serve", "--models-dir", models, "--port", str(port), "--threads", str(threads),
         "--request-timeout", "0"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_ready(url)
        seconds, text = [], ""
        for _ in range(repeat):
            start = time.perf_counter()
            text = subprocess.run(
                ["curl", "-sf", f"{url}/v1/audio/transcriptions", "-F", f"file=@{audio}",
                 "-F", "model=whisper-1", "-F", "language=de", "-F", "response_format=text"],
                check=True, capture_output=True, text=True,
            ).stdout
            seconds.append(time.perf_counter() - start)
        return seconds, text
    finally:
        server.terminate()
        server.wait(timeout=60)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--binary", required=True, help="hearsay release binary")
    ap.add_argument("--ggml", required=True, help="whisper.cpp model (scripted bench model)")
    ap.add_argument("--ct2", required=True, help="its CTranslate2 int8 conversion")
    ap.add_argument("--seconds", type=float, default=600.0, help="length of the synthetic file")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--tsv", help="append bench.sh result lines here")
    ap.add_argument("--tag", default="")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-vs-fw-audio-") as tmp:
        audio = os.path.join(tmp, "synth.wav")
        write_synth_wav(audio, args.seconds)
        hearsay, hearsay_text = time_hearsay(args.binary, args.ggml, audio, args.threads, args.repeat)
        fw = json.loads(subprocess.run(
            [sys.executable, os.path.join(os.path.dirname(__file__), "bench_faster_whisper.py"),
             "--model-dir", args.ct2, "--audio", audio, "--threads", str(args.threads),
             "--repeat", str(args.repeat)],
            check=True, capture_output=True, text=True,
        ).stdout)
    ratio = fw["min"] / min(hearsay)
    result = {
        "hearsay_seconds": [round(s, 3) for s in hearsay],
        "faster_whisper_seconds": fw["seconds"],
        "throughput_ratio_best": round(ratio, 3),
        "throughput_ratio_median": round(fw["median"] / statistics.median(hearsay), 3),
        "same_text": hearsay_text.split() == fw["text"].split(),
        "audio_seconds": args.seconds,
        "threads": args.threads,
    }
    if args.tsv:
        what = f"STT {args.seconds:g} s file, {args.threads} threads"
        with open(args.tsv, "a", encoding="utf-8") as f:
            f.write(f"faster-whisper\t{what}: hearsay min wall\t{min(hearsay):.3f}\ts\t-\t-\t{args.tag}\n")
            f.write(f"faster-whisper\t{what}: faster-whisper int8 min wall\t{fw['min']:.3f}\ts\t-\t-\t{args.tag}\n")
            hit = "yes" if ratio >= 1 else "no"
            f.write(f"faster-whisper\t{what}: throughput hearsay / faster-whisper\t{ratio:.3f}\tx\t>= 1\t{hit}\t{args.tag}\n")
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
