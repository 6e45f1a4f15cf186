#!/usr/bin/env python3
"""Smoke-tests a running hearsay with the official openai SDK: both speech-to-text endpoints in
all five response formats.

    .venv/bin/python scripts/smoke_stt.py [--base-url http://127.0.0.1:8000/v1] AUDIO_FILE
"""

import argparse
from pathlib import Path

import openai

FORMATS = ["json", "text", "srt", "vtt", "verbose_json"]


def show(result) -> str:
    if isinstance(result, str):
        return repr(result)
    return result.model_dump_json(exclude_none=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("audio", type=Path)
    parser.add_argument("--base-url", default="http://127.0.0.1:8000/v1")
    parser.add_argument("--model", default="whisper-1")
    args = parser.parse_args()
    client = openai.OpenAI(base_url=args.base_url, api_key="unused", max_retries=0)
    endpoints = {
        "transcriptions": client.audio.transcriptions,
        "translations": client.audio.translations,
    }
    for name, endpoint in endpoints.items():
        for fmt in FORMATS:
            with args.audio.open("rb") as audio:
                result = endpoint.create(model=args.model, file=audio, response_format=fmt)
            print(f"{name:14} {fmt:12} {show(result)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
