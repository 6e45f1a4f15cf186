"""/v1/audio/speech with the official openai SDK, and sample-for-sample parity with piper-tts."""

import base64
import json
import subprocess
import urllib.request
from pathlib import Path

import openai
import pytest

ROOT = Path(__file__).resolve().parents[2]
FORMATS = ["mp3", "opus", "aac", "flac", "wav", "pcm"]
# ffprobe's codec name and sample rate for each format from a 22050 Hz voice.
PROBE = {
    "mp3": ("mp3", 22050),
    "opus": ("opus", 48000),
    "aac": ("aac", 22050),
    "flac": ("flac", 22050),
    "wav": ("pcm_s16le", 22050),
}


def probe(data: bytes) -> dict:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_name,sample_rate,channels",
         "-of", "json", "-i", "pipe:0"],
        input=data, capture_output=True, check=True,
    )
    return json.loads(out.stdout)["streams"][0]


def wav_frames(data: bytes) -> bytes:
    """The samples of a streamed WAV (its sizes say 0xFFFFFFFF), read up to the end of the body."""
    assert data[:4] == b"RIFF" and data[8:16] == b"WAVEfmt "
    start = data.index(b"data") + 8
    return data[start:]


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format(client, fmt):
    response = client.audio.speech.create(model="tts-1", voice="alloy", input="Hello world. How are you?",
                                          response_format=fmt)
    data = response.content
    assert len(data) > 100
    if fmt == "pcm":
        wav = client.audio.speech.create(model="tts-1", voice="alloy", input="Hello world. How are you?",
                                         response_format="wav").content
        # 24 kHz s16le mono, OpenAI's pcm: the same length as the 22050 Hz wav, resampled.
        seconds = len(wav_frames(wav)) / 2 / 22050
        assert abs(len(data) / 2 / 24000 - seconds) < 0.002
        return
    stream = probe(data)
    codec, rate = PROBE[fmt]
    assert stream["codec_name"] == codec
    assert int(stream["sample_rate"]) == rate
    assert stream["channels"] == 1


CONTENT_TYPES = {
    "mp3": "audio/mpeg",
    "opus": "audio/ogg; codecs=opus",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "wav": "audio/wav",
    "pcm": "audio/pcm",
}


@pytest.mark.parametrize("fmt", FORMATS)
def test_streaming_response(client, tmp_path, fmt):
    target = tmp_path / f"speech.{fmt}"
    with client.audio.speech.with_streaming_response.create(
        model="gpt-4o-mini-tts", voice="nova", input="One. Two. Three. Four.", response_format=fmt
    ) as response:
        assert response.headers["content-type"] == CONTENT_TYPES[fmt]
        chunks = list(response.iter_bytes())
    target.write_bytes(b"".join(chunks))
    plain = client.audio.speech.create(model="gpt-4o-mini-tts", voice="nova", input="One. Two. Three. Four.",
                                       response_format=fmt).content
    assert target.read_bytes() == plain
    if fmt != "pcm":
        assert probe(plain)["codec_name"] == PROBE[fmt][0]


def post_json(url: str, body: dict) -> tuple[str, bytes]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.headers["Content-Type"], response.read()


def test_sse_events(base_url):
    body = {"model": "tts-1", "voice": "alloy", "input": "One. Two.", "response_format": "pcm",
            "stream_format": "sse"}
    _, plain = post_json(f"{base_url}/v1/audio/speech", {**body, "stream_format": "audio"})
    content_type, text = post_json(f"{base_url}/v1/audio/speech", body)
    assert content_type.startswith("text/event-stream")
    events = [json.loads(line[len("data: "):]) for line in text.decode().splitlines() if line.startswith("data: ")]
    assert [e["type"] for e in events[:-1]] == ["speech.audio.delta"] * (len(events) - 1)
    assert events[-1]["type"] == "speech.audio.done"
    assert events[-1]["usage"]["total_tokens"] == events[-1]["usage"]["input_tokens"]
    audio = b"".join(base64.b64decode(e["audio"]) for e in events[:-1])
    assert audio == plain


def test_speed_scales_duration(client):
    def samples(speed):
        wav = client.audio.speech.create(model="tts-1", voice="alloy", input="Hello.", response_format="wav",
                                         speed=speed).content
        return len(wav_frames(wav)) // 2

    normal = samples(1.0)
    assert samples(2.0) * 2 == normal
    assert samples(0.5) == normal * 2


def test_errors_raise_the_sdk_exceptions(client):
    with pytest.raises(openai.NotFoundError) as error:
        client.audio.speech.create(model="no-such-model", voice="alloy", input="Hi")
    assert error.value.code == "model_not_found"
    with pytest.raises(openai.BadRequestError) as error:
        client.audio.speech.create(model="tts-1", voice="nobody", input="Hi")
    assert error.value.param == "voice"
    with pytest.raises(openai.BadRequestError) as error:
        client.audio.speech.create(model="tts-1", voice="alloy", input="x" * 4097)
    assert error.value.code == "string_too_long"
    with pytest.raises(openai.BadRequestError) as error:
        client.audio.speech.create(model="tts-1", voice="alloy", input="Hi", speed=4.5)
    assert error.value.param == "speed"


def piper_fixture_entries():
    fixture = json.loads((ROOT / "tests/fixtures/piper_phonemes.json").read_text())
    voices = {"en-us": "tiny-en", "de": "tiny-de", "es": "tiny-es", "cmn": "tiny-cmn"}
    return [
        pytest.param(voices[e["voice"]], e["text"], id=f"{e['voice']}:{e['text'][:30]}")
        for e in fixture["entries"]
        if e["voice"] in voices and not e.get("allowed_difference")
    ]


@pytest.mark.parametrize("voice, text", piper_fixture_entries())
def test_audio_equals_piper_tts(client, voices_dir, voice, text):
    """Our audio equals piper-tts 1.8.0's, sample for sample, for the same voice and text.

    Texts whose phonemes differ only by espeak-ng #2367 (a regression in the espeak-ng build
    embedded in piper-tts) are checked at the phoneme level by the Rust tests instead."""
    from piper import PiperVoice

    reference = b"".join(
        chunk.audio_int16_bytes for chunk in PiperVoice.load(voices_dir / f"{voice}.onnx").synthesize(text)
    )
    ours = client.audio.speech.create(model="tts-1", voice=voice, input=text, response_format="wav").content
    assert wav_frames(ours) == reference
