#!/usr/bin/env python3
"""Memory targets of issue 5, measured on the release binary.

    bench_memory.py --binary target/release/hearsay --stt MODEL.bin --voice VOICE.onnx
                    [--requests 1000] [--results target/bench-results.tsv]

1. RSS flat over mixed requests: starts `hearsay serve` over a models dir holding MODEL and
   VOICE, sends --requests requests in a fixed rotation (a 3 s transcription, a short speech
   request, GET /v1/models, GET /health, a 10 s transcription in verbose_json, speech as mp3),
   samples VmRSS from /proc/PID/status after every request, and reports the growth from the
   end of the first 10 % (warm-up: every worker has its state and buffers) to the end.
   Target: within 2 %.
2. Memory per concurrent STT job: the peak RSS while 1 vs 2 transcriptions of 30 s run at
   once (--max-concurrent 2, --threads 2); the difference is what the second job adds.
   Target: at most whisper.cpp's state size + 20 MB, where the state size is what the first
   job adds to an idle --max-concurrent 1 server (its `whisper_init_state` plus compute
   buffers, as RSS). The two-job figure comes from a fresh --max-concurrent 2 server.

Prints the figures and appends them to --results in bench.sh's TSV format. Only the
standard library is used.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import random
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
import wave


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def speechlike_wav(seconds: float, rate: int = 16000, seed: int = 1) -> bytes:
    rng = random.Random(seed)
    n = int(seconds * rate)
    lp = 0.0
    frames = bytearray()
    for i in range(n):
        lp += 0.3 * (rng.uniform(-1, 1) - lp)
        syl = abs(math.sin(i / rate * 4 * math.pi))
        frames += struct.pack("<h", int(max(-1, min(1, 0.6 * syl * lp)) * 32767))
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(frames))
    return buf.getvalue()


class Server:
    def __init__(self, binary: str, models: str, *args: str):
        self.proc = subprocess.Popen(
            [binary, "serve", "--models-dir", models, "--host", "127.0.0.1", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "NO_COLOR": "1"},
        )
        self.url = None
        self.log: list[str] = []
        deadline = time.time() + 120
        while self.url is None and time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.log.append(line)
            # "hearsay listening on http://127.0.0.1:PORT" carries the address.
            found = re.search(r"listening on (http://[0-9.]+:[0-9]+)", re.sub(r"\x1b\[[0-9;]*m", "", line))
            if found:
                self.url = found.group(1)
        if self.url is None:
            self.stop()
            raise RuntimeError("server did not start:\n" + "".join(self.log[-20:]))
        threading.Thread(target=self._drain, daemon=True).start()
        self.wait_ready()

    def _drain(self) -> None:
        for line in self.proc.stdout:
            self.log.append(line)

    def wait_ready(self) -> None:
        for _ in range(600):
            try:
                with urllib.request.urlopen(self.url + "/ready", timeout=5) as r:
                    if r.status == 200:
                        return
            except Exception:
                time.sleep(0.2)
        raise RuntimeError("server never became ready")

    def rss(self) -> int:
        return rss_kib(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def post_multipart(url: str, fields: dict[str, str], audio: bytes) -> bytes:
    boundary = uuid.uuid4().hex
    body = io.BytesIO()
    for name, value in fields.items():
        body.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    body.write(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n'
        "Content-Type: audio/wav\r\n\r\n".encode()
    )
    body.write(audio + f"\r\n--{boundary}--\r\n".encode())
    req = urllib.request.Request(url, data=body.getvalue(), headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    with urllib.request.urlopen(req, timeout=600) as r:
        return r.read()


def post_json(url: str, payload: dict) -> bytes:
    req = urllib.request.Request(url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=600) as r:
        return r.read()


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as r:
        return r.read()


def record(results: str | None, name: str, value: float, unit: str, target: str, hit: str) -> None:
    print(f"RESULT memory | {name} | {value:.4f} {unit} | target {target} | hit {hit}")
    if results:
        with open(results, "a") as f:
            f.write(f"memory\t{name}\t{value:.4f}\t{unit}\t{target}\t{hit}\t\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", default="target/release/hearsay")
    ap.add_argument("--stt", required=True, help="whisper model file")
    ap.add_argument("--voice", help="Piper voice .onnx (config beside it)")
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--results")
    ap.add_argument("--skip-flat", action="store_true", help="only the per-job measurement")
    args = ap.parse_args()

    models = tempfile.mkdtemp(prefix="hearsay-mem-")
    model_id = os.path.splitext(os.path.basename(args.stt))[0]
    os.link(args.stt, os.path.join(models, os.path.basename(args.stt))) if os.stat(args.stt).st_dev == os.stat(models).st_dev else shutil.copy(args.stt, models)
    if args.voice:
        for path in (args.voice, args.voice + ".json"):
            shutil.copy(path, models)
    voice_id = os.path.splitext(os.path.basename(args.voice))[0] if args.voice else None
    clip3, clip10, clip30 = speechlike_wav(3), speechlike_wav(10, seed=2), speechlike_wav(30, seed=3)

    try:
        # 1. Flat RSS over mixed requests.
        server = None if args.skip_flat else Server(args.binary, models, "--threads", "2")
        url = server.url if server else ""
        stt = url + "/v1/audio/transcriptions"
        speech = url + "/v1/audio/speech"
        rotation = [
            lambda: post_multipart(stt, {"model": model_id, "language": "de"}, clip3),
            lambda: voice_id and post_json(speech, {"model": "tts-1", "voice": voice_id, "input": "Hello there, how are you?", "response_format": "wav"}),
            lambda: get(url + "/v1/models"),
            lambda: get(url + "/health"),
            lambda: post_multipart(stt, {"model": model_id, "language": "de", "response_format": "verbose_json"}, clip10),
            lambda: voice_id and post_json(speech, {"model": "tts-1", "voice": voice_id, "input": "Short mp3 reply.", "response_format": "mp3"}),
        ]
        samples = [0]
        start = time.time()
        for i in range(args.requests if server else 0):
            rotation[i % len(rotation)]()
            samples.append(server.rss())
        elapsed = time.time() - start
        if server:
            samples = samples[1:]
            warm = samples[max(0, args.requests // 10 - 1)]
            end = samples[-1]
            growth = (end - warm) / warm * 100
            print(f"{args.requests} requests in {elapsed:.0f} s; RSS after warm-up {warm / 1024:.1f} MiB, end {end / 1024:.1f} MiB, max {max(samples) / 1024:.1f} MiB")
            record(args.results, f"RSS growth over {args.requests} mixed requests (after 10 % warm-up)", growth, "%", "<= 2", "yes" if abs(growth) <= 2 else "no")
            server.stop()

        # 2. Memory per concurrent STT job.
        def peak_during(server: Server, jobs: int) -> int:
            peak = server.rss()
            done = []
            threads = [
                threading.Thread(target=lambda: done.append(post_multipart(server.url + "/v1/audio/transcriptions", {"model": model_id, "language": "de"}, clip30)))
                for _ in range(jobs)
            ]
            for t in threads:
                t.start()
            while any(t.is_alive() for t in threads):
                peak = max(peak, server.rss())
                time.sleep(0.02)
            return peak

        server = Server(args.binary, models, "--threads", "2", "--max-concurrent", "1")
        before_state = server.rss()
        one = max(peak_during(server, 1), peak_during(server, 1))
        state = one - before_state
        server.stop()
        # A fresh server, so neither worker has a state yet: both are made by the two jobs.
        server = Server(args.binary, models, "--threads", "2", "--max-concurrent", "2")
        idle = server.rss()
        both = max(peak_during(server, 2), peak_during(server, 2)) - idle
        per_job = both - state
        server.stop()
        print(f"one job: +{state / 1024:.1f} MiB over idle (state + buffers); two at once: +{both / 1024:.1f} MiB, the second +{per_job / 1024:.1f} MiB")
        record(args.results, "whisper.cpp state + buffers of one job (RSS)", state / 1024, "MiB", "-", "-")
        record(args.results, "RSS added by a 2nd concurrent STT job", per_job / 1024, "MiB", f"<= {(state / 1024) + 20:.1f}", "yes" if per_job <= state + 20 * 1024 else "no")
    finally:
        shutil.rmtree(models, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
