"""The real Piper voice speaks in every output format, and base transcribes each back."""

import io
import wave

import speech

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Please turn off the kitchen lights at eleven.",
    "Our meeting moved to Thursday afternoon in the small room.",
]
FORMATS = ["mp3", "opus", "aac", "flac", "wav", "pcm"]


def as_upload(body: bytes, fmt: str) -> bytes:
    """pcm is headerless 24 kHz 16-bit mono: a client wraps it in a WAV header to send it."""
    if fmt != "pcm":
        return body
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(24_000)
        w.writeframes(body)
    return out.getvalue()


def test_every_format_comes_back_as_the_same_words(client, hearsay, record):
    pairs, lines = [], []
    for fmt in FORMATS:
        for sentence in SENTENCES:
            body = client.audio.speech.create(
                model="tts-1", voice="en_US-joe-medium", input=sentence, response_format=fmt
            ).content
            heard = hearsay.transcribe("base", as_upload(body, fmt)).text
            pairs.append((sentence, heard))
            lines.append(f"{fmt}: {heard!r}")
    total = speech.corpus_errors(pairs)
    record("round trip: Piper joe, 6 formats x 3 sentences", "base", "WER", total.wer, None, " %")
    assert total.wer < 10.0, "\n".join(lines)
