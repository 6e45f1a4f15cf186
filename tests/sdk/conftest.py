"""Starts the real hearsay binary on a free port with freshly generated scripted models."""

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import openai
import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("models")
    subprocess.run(
        [sys.executable, str(ROOT / "scripts/make_test_models.py"), str(out)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return out


@pytest.fixture(scope="session")
def voices_dir(models_dir) -> Path:
    out = models_dir / "voices"
    subprocess.run(
        [sys.executable, str(ROOT / "scripts/make_test_voices.py"), str(out)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return out


@contextlib.contextmanager
def running_server(models_dir: Path, *extra_args: str, stderr=None):
    """Runs the hearsay binary on a free port until the block ends; yields its base URL."""
    binary = os.environ.get("HEARSAY_BIN", str(ROOT / "target/debug/hearsay"))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARSAY_")}
    process = subprocess.Popen(
        [binary, "serve", "--port", str(port), "--models-dir", str(models_dir), *extra_args],
        env=env,
        stdin=subprocess.DEVNULL,
        stderr=stderr,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            if process.poll() is not None:
                raise RuntimeError(f"hearsay exited with {process.returncode}")
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=1):
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("hearsay did not become healthy")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="session")
def base_url(models_dir, voices_dir):
    with running_server(models_dir, "--default-stt-model", "scripted", "--default-voice", "tiny-en") as url:
        yield url


@pytest.fixture()
def client(base_url) -> openai.OpenAI:
    # The SDKs refuse an empty key; hearsay accepts any key while auth is off.
    return openai.OpenAI(base_url=f"{base_url}/v1", api_key="sk-local", max_retries=0)


@pytest.fixture()
def tone() -> Path:
    return ROOT / "tests/fixtures/tone.flac"
