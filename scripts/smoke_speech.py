#!/usr/bin/env python3
"""Smoke-tests a running hearsay's /v1/audio/speech with the official openai SDK: every
response format, plain and streamed, written to OUT_DIR.

    .venv/bin/python scripts/smoke_speech.py [--base-url http://127.0.0.1:8000/v1] OUT_DIR
"""

import argparse
from pathlib import Path

import openai

FORMATS = ["mp3", "opus", "aac", "flac", "wav", "pcm"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--base-url", default="http://127.0.0.1:8000/v1")
    parser.add_argument("--voice", default="alloy")
    parser.add_argument("--text", default="Hello from hearsay. This is a test of every format.")
    args = parser.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    client = openai.OpenAI(base_url=args.base_url, api_key="unused", max_retries=0)
    for fmt in FORMATS:
        plain = client.audio.speech.create(model="tts-1", voice=args.voice, input=args.text, response_format=fmt)
        (args.out_dir / f"plain.{fmt}").write_bytes(plain.content)
        with client.audio.speech.with_streaming_response.create(
            model="tts-1", voice=args.voice, input=args.text, response_format=fmt
        ) as response:
            chunks = list(response.iter_bytes())
            content_type = response.headers["content-type"]
        streamed = b"".join(chunks)
        (args.out_dir / f"streamed.{fmt}").write_bytes(streamed)
        print(f"{fmt:5} {content_type:24} plain {len(plain.content):7} bytes, streamed {len(streamed):7} bytes "
              f"in {len(chunks)} chunks, identical: {streamed == plain.content}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
