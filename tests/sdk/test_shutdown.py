"""SIGTERM: the server stops accepting, finishes the request in flight, and exits 0."""

import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request

import openai

from conftest import ROOT, free_port


def long_flac(seconds: int) -> bytes:
    return subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono",
         "-t", str(seconds), "-c:a", "flac", "-f", "flac", "pipe:1"],
        check=True, capture_output=True,
    ).stdout


def test_sigterm_finishes_in_flight_work_then_exits_zero(models_dir):
    import os

    binary = os.environ.get("HEARSAY_BIN", str(ROOT / "target/debug/hearsay"))
    port = free_port()
    process = subprocess.Popen(
        [binary, "serve", "--port", str(port), "--models-dir", str(models_dir), "--default-stt-model", "scripted",
         "--shutdown-timeout", "600"],
        stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            urllib.request.urlopen(f"{url}/health", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="sk-local", max_retries=0, timeout=600)
    result = {}

    def transcribe():
        # Half an hour of audio: 60 whisper windows, so the job is still running at SIGTERM.
        try:
            result["text"] = client.audio.transcriptions.create(model="whisper-1", file=audio).text
        except Exception as error:  # reported by the assertion below
            result["error"] = repr(error)

    audio = long_flac(1800)
    worker = threading.Thread(target=transcribe)
    worker.start()
    time.sleep(2.0)
    process.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    try:
        urllib.request.urlopen(f"{url}/health", timeout=2)
        accepted_new = True
    except (urllib.error.URLError, ConnectionError, OSError):
        accepted_new = False
    worker.join(timeout=600)
    assert process.wait(timeout=600) == 0
    assert not accepted_new, "no new connections after SIGTERM"
    assert result.get("text", "").startswith("hallo welt hallo welt"), result
