"""Runs the real hearsay binary on a free port: shared by the SDK and the real-speech tests."""

import contextlib
import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
