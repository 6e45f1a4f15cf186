#!/usr/bin/env python3
"""Time faster-whisper (CTranslate2) on one audio file, for comparison with hearsay.

    scripts/bench_faster_whisper.py --model-dir DIR (--audio FILE | --synth-seconds S) \
        --threads N [--compute-type int8] [--repeat K] [--language de] [--tsv FILE --tag TAG]

DIR is a CTranslate2 Whisper model with tokenizer.json and preprocessor_config.json, e.g.
from `scripts/make_ct2_model.py models/scripted-base.bin DIR` (the same weights hearsay
loads). Nothing is downloaded.

Each repetition times `WhisperModel.transcribe(FILE, ...)` with its segment generator fully
consumed, so it includes decoding the file (PyAV), the log-mel features and every 30 s
window, like hearsay's request time includes decoding the upload. Model loading happens
once, before, and is reported separately (hearsay loads at start-up too).

Settings match hearsay's whisper.cpp defaults (src/stt/whisper.rs with no request options):

* device cpu, `cpu_threads=N` (intra-op threads, hearsay `--threads N`), `num_workers=1`;
* greedy: `beam_size=1`; `best_of=5` is only used by sampling fallbacks
  (hearsay: `SamplingStrategy::Greedy { best_of: 5 }`);
* temperature 0 with the fallback ladder 0.2, 0.4, ... 1.0 and the usual thresholds
  (compression ratio 2.4 / log-prob -1.0 / no-speech 0.6), as whisper.cpp's
  temperature_inc 0.2, entropy_thold 2.4, logprob_thold -1.0, no_speech_thold 0.6;
  `--no-fallback` uses temperature 0 only (the JSON reports each segment's temperature,
  so a fallback would be visible);
* the given language (no detection), task transcribe, timestamps decoded
  (whisper.cpp's default; `max_initial_timestamp=1.0` in both), previous text as prompt
  across windows (`condition_on_previous_text=True`; whisper.cpp keeps its prompt_past
  within one whisper_full call), `suppress_blank=True`, no VAD, no word timestamps.

faster-whisper additionally suppresses its non-speech symbol list (`suppress_tokens=[-1]`,
whisper.cpp's suppress_nst is off); that is a logit mask, free in time.

Prints one JSON object: seconds (each repetition, wall clock), min, median, cpu_seconds
(user+system of this process per repetition; steadier than wall time on shared cores),
audio_seconds, the text,
segment/token counts, the load time and the settings.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import wave


def write_synth_wav(path: str, seconds: float, rate: int = 16000) -> None:
    """Mono 16-bit WAV: a 440 Hz tone plus seeded noise (content is irrelevant to the
    scripted models, which say the same words in every 30 s window)."""
    import numpy as np

    n = int(round(seconds * rate))
    rng = np.random.default_rng(1)
    t = np.arange(n) / rate
    x = 0.1 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(n)
    with wave.open(path, "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes((np.clip(x, -1, 1) * 32767).astype("<i2").tobytes())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model-dir", required=True, help="CTranslate2 whisper model directory")
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--audio", help="audio file (anything PyAV/ffmpeg decodes)")
    src.add_argument(
        "--synth-seconds",
        type=float,
        help="instead of --audio: write a deterministic 16 kHz WAV of this length (tone + noise) "
        "to a temporary file and use that",
    )
    ap.add_argument("--threads", type=int, required=True, help="cpu_threads (hearsay --threads)")
    ap.add_argument("--compute-type", default="int8", help="ctranslate2 compute type (default int8)")
    ap.add_argument("--repeat", type=int, default=3, help="timed repetitions (default 3)")
    ap.add_argument("--language", default="de", help="language code (default de, the scripted models' language)")
    ap.add_argument("--no-fallback", action="store_true", help="temperature 0 only, no fallback ladder")
    ap.add_argument("--tsv", help="also append bench.sh result lines (bench name value unit target hit tag) here")
    ap.add_argument("--tag", default="", help="tag column for --tsv")
    args = ap.parse_args(argv)
    tmpdir = None
    if args.synth_seconds is not None:
        tmpdir = tempfile.mkdtemp(prefix="bench-fw-")
        args.audio = os.path.join(tmpdir, "synth.wav")
        write_synth_wav(args.audio, args.synth_seconds)

    if not os.path.isfile(os.path.join(args.model_dir, "tokenizer.json")):
        # faster-whisper would try to download openai/whisper-tiny's tokenizer instead.
        ap.error(f"{args.model_dir} has no tokenizer.json (make it with scripts/make_ct2_model.py)")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from faster_whisper import WhisperModel
    from faster_whisper.audio import decode_audio

    t0 = time.perf_counter()
    model = WhisperModel(
        args.model_dir,
        device="cpu",
        compute_type=args.compute_type,
        cpu_threads=args.threads,
        num_workers=1,
        local_files_only=True,
    )
    load_seconds = time.perf_counter() - t0
    audio_seconds = len(decode_audio(args.audio, sampling_rate=16000)) / 16000.0

    temperature = 0.0 if args.no_fallback else [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    options = dict(
        language=args.language,
        task="transcribe",
        beam_size=1,
        best_of=5,
        temperature=temperature,
        compression_ratio_threshold=2.4,
        log_prob_threshold=-1.0,
        no_speech_threshold=0.6,
        condition_on_previous_text=True,
        without_timestamps=False,
        max_initial_timestamp=1.0,
        suppress_blank=True,
        word_timestamps=False,
        vad_filter=False,
    )

    seconds = []
    cpu_seconds = []
    segments = []
    for _ in range(args.repeat):
        c0 = os.times()
        t0 = time.perf_counter()
        gen, _info = model.transcribe(args.audio, **options)
        segments = list(gen)
        seconds.append(time.perf_counter() - t0)
        c1 = os.times()
        cpu_seconds.append((c1.user + c1.system) - (c0.user + c0.system))

    text = "".join(s.text for s in segments)
    result = {
        "engine": "faster-whisper",
        "seconds": [round(s, 4) for s in seconds],
        "min": round(min(seconds), 4),
        "median": round(statistics.median(seconds), 4),
        "cpu_seconds": [round(c, 3) for c in cpu_seconds],
        "audio_seconds": audio_seconds,
        "text": text,
        "segments": len(segments),
        "tokens": sum(len(s.tokens) for s in segments),
        "temperatures": sorted({s.temperature for s in segments}),
        "load_seconds": round(load_seconds, 4),
        "threads": args.threads,
        "compute_type": args.compute_type,
        "model_dir": args.model_dir,
        "audio": args.audio if args.synth_seconds is None else f"synth:{args.synth_seconds:g}s",
        "settings": {k: v for k, v in options.items()},
    }
    if args.tsv:
        what = f"STT {audio_seconds:g} s file, {args.compute_type}, {args.threads} threads"
        with open(args.tsv, "a", encoding="utf-8") as f:
            f.write(f"faster-whisper\t{what}: min wall\t{min(seconds):.3f}\ts\t-\t-\t{args.tag}\n")
            f.write(f"faster-whisper\t{what}: median wall\t{statistics.median(seconds):.3f}\ts\t-\t-\t{args.tag}\n")
            f.write(f"faster-whisper\t{what}: median CPU\t{statistics.median(cpu_seconds):.3f}\ts\t-\t-\t{args.tag}\n")
            f.write(f"faster-whisper\t{what}: audio/wall (best)\t{audio_seconds / min(seconds):.2f}\tx realtime\t-\t-\t{args.tag}\n")
    if tmpdir:
        shutil.rmtree(tmpdir, ignore_errors=True)
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
