#!/usr/bin/env python3
"""Time faster-whisper (CTranslate2) on one audio file, for comparison with hearsay.

    scripts/bench_faster_whisper.py --model-dir DIR --audio FILE --threads N \
        [--compute-type int8] [--repeat K] [--language de]

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
import statistics
import sys
import time


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model-dir", required=True, help="CTranslate2 whisper model directory")
    ap.add_argument("--audio", required=True, help="audio file (anything PyAV/ffmpeg decodes)")
    ap.add_argument("--threads", type=int, required=True, help="cpu_threads (hearsay --threads)")
    ap.add_argument("--compute-type", default="int8", help="ctranslate2 compute type (default int8)")
    ap.add_argument("--repeat", type=int, default=3, help="timed repetitions (default 3)")
    ap.add_argument("--language", default="de", help="language code (default de, the scripted models' language)")
    ap.add_argument("--no-fallback", action="store_true", help="temperature 0 only, no fallback ladder")
    args = ap.parse_args(argv)

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
        "audio": args.audio,
        "settings": {k: v for k, v in options.items()},
    }
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
