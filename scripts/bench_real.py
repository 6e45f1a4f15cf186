#!/usr/bin/env python3
"""The Python half of `cargo bench --bench real`: real-speech inputs, faster-whisper timed on
the original CTranslate2 files, and word error rates, as JSON lines on stdin/stdout.

Requests (one JSON object per line), each answered by one JSON line:

* `{"op": "human", "out": PATH}`: writes at least 3 minutes of human speech (every short clip
  of pocketsphinx-testdata, shuffled in rounds with pauses, as tests/real builds it) to PATH;
  answers `{"text", "seconds"}`.
* `{"op": "text", "chars": N}`: about N characters of the GPL-3 text from its preamble on,
  ending at a sentence end, for a Piper voice to read; answers `{"text"}`.
* `{"op": "fw", "model", "compute_type", "beam_size", "vad", "audio"}`: faster-whisper 1.2.1
  (model loaded once, before timing) transcribes the file with its defaults otherwise, English;
  answers `{"seconds", "cpu_seconds", "text"}`. The time includes decoding the file, as
  hearsay's request time does.
* `{"op": "wer", "truth", "text"}`: answers `{"wer"}` in percent (tests/real/speech.py).

Assets come from scripts/get_real_assets.sh (`HEARSAY_REAL_ASSETS`, default
~/.cache/hearsay/real-assets); threads from `--threads`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests/real"))

import speech  # noqa: E402

ASSETS = Path(os.environ.get("HEARSAY_REAL_ASSETS", Path.home() / ".cache/hearsay/real-assets"))
LICENCE = Path("/usr/share/common-licenses/GPL-3")


def licence_text(chars: int) -> str:
    text = " ".join(LICENCE.read_text().split("Preamble", 1)[1].split())
    # Section markers and the like read badly; keep prose.
    text = re.sub(r"\s*\b\d+\.\s+(?=[A-Z])", " ", text)
    if len(text) <= chars:
        return text
    cut = text.rfind(". ", 0, chars)
    return text[: cut + 1] if cut > 0 else text[:chars]


class Engines:
    def __init__(self, threads: int):
        from faster_whisper import WhisperModel

        self.threads = threads
        self.models = {}
        self.WhisperModel = WhisperModel

    def model(self, name: str, compute_type: str):
        key = (name, compute_type)
        if key not in self.models:
            self.models[key] = self.WhisperModel(
                str(ASSETS / "ct2" / name), device="cpu", compute_type=compute_type, cpu_threads=self.threads
            )
        return self.models[key]

    def transcribe(self, request: dict) -> dict:
        model = self.model(request["model"], request["compute_type"])
        cpu = resource.getrusage(resource.RUSAGE_SELF)
        start = time.perf_counter()
        segments, _ = model.transcribe(
            request["audio"], language="en", beam_size=request["beam_size"], vad_filter=request.get("vad", False)
        )
        text = "".join(s.text for s in segments).strip()
        seconds = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_SELF)
        cpu_seconds = (after.ru_utime - cpu.ru_utime) + (after.ru_stime - cpu.ru_stime)
        return {"seconds": seconds, "cpu_seconds": cpu_seconds, "text": text}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    engines = Engines(args.threads)
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        op = request["op"]
        if op == "human":
            clips = speech.short_clips(ASSETS / "speech")
            audio = speech.long_form(clips, min_seconds=185, seed=10)
            Path(request["out"]).write_bytes(audio.wav)
            answer = {"text": audio.text, "seconds": audio.seconds}
        elif op == "text":
            answer = {"text": licence_text(int(request["chars"]))}
        elif op == "fw":
            answer = engines.transcribe(request)
        elif op == "wer":
            answer = {"wer": speech.errors(request["truth"], request["text"]).wer}
        else:
            answer = {"error": f"unknown op {op!r}"}
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
