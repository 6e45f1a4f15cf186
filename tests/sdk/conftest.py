"""Starts the real hearsay binary on a free port with freshly generated scripted models."""

import subprocess
import sys
from pathlib import Path

import openai
import pytest

from hearsay_process import ROOT, free_port, running_server  # noqa: F401 (used by the tests)


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
