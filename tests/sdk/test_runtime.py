"""A missing ONNX Runtime is one clear start-up message: speech-to-text keeps working, and
speech falls back to espeak-ng's own voice."""

import openai

from conftest import running_server


def test_missing_onnxruntime_keeps_the_server_useful(models_dir, voices_dir, tone, tmp_path):
    log_path = tmp_path / "stderr.log"
    with log_path.open("wb") as log, running_server(
        models_dir, "--onnxruntime", "/nonexistent/libonnxruntime.so.1.31.1", stderr=log
    ) as url:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="sk-local", max_retries=0)
        assert client.audio.transcriptions.create(model="whisper-1", file=tone.read_bytes()).text == "hallo welt"
        ids = [model.id for model in client.models.list()]
        assert "tiny-en" not in ids, "Piper voices need the runtime"
        speech = client.audio.speech.create(model="tts-1", voice="alloy", input="Still speaking.",
                                            response_format="wav").content
        assert speech[:4] == b"RIFF" and len(speech) > 22050
    log = log_path.read_text()
    lines = [line for line in log.splitlines() if "Piper voices disabled" in line]
    assert len(lines) == 1, log
    assert "/nonexistent/libonnxruntime.so.1.31.1" in lines[0]
    assert "get_onnxruntime.sh" in lines[0]
