#!/usr/bin/env python3
"""Times piper-tts (the reference Python implementation) on one voice and text.

    bench_piper.py --model VOICE.onnx --text TEXT [--repeat 10] [--threads N]

Loads the voice with piper's PiperVoice (config NAME.onnx.json beside it), synthesizes TEXT
once to warm up, then REPEAT times, and prints one JSON line: median_s, min_s, samples,
sample_rate, threads. With --threads the ONNX Runtime session is rebuilt with that many
intra-op threads (0 = ONNX Runtime's default, all cores). Used by benches/tts.rs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--text", required=True)
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()

    try:
        import onnxruntime
        from piper import PiperVoice
    except ImportError as e:
        print(f"piper-tts is not installed: {e}", file=sys.stderr)
        return 2

    voice = PiperVoice.load(args.model)
    if args.threads:
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = args.threads
        options.inter_op_num_threads = 1
        voice.session = onnxruntime.InferenceSession(
            args.model, sess_options=options, providers=["CPUExecutionProvider"]
        )

    def run() -> int:
        return sum(len(chunk.audio_int16_bytes) // 2 for chunk in voice.synthesize(args.text))

    samples = run()
    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    print(
        json.dumps(
            {
                "median_s": statistics.median(times),
                "min_s": min(times),
                "samples": samples,
                "sample_rate": voice.config.sample_rate,
                "threads": args.threads,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
