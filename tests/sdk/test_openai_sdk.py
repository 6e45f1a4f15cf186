"""The official openai Python SDK as a client: every response format on both endpoints,
word timestamps, the ways the SDK sends files, and errors raised as the SDK's exceptions."""

import openai
import pytest

# The SDK marks `audio.translations` deprecated; it is still OpenAI's endpoint, and ours.
pytestmark = pytest.mark.filterwarnings("ignore:deprecated:DeprecationWarning")

PHRASE = "hallo welt"
TRANSLATION = "hello world"


def test_transcription_json(client, tone):
    with tone.open("rb") as audio:
        result = client.audio.transcriptions.create(model="whisper-1", file=audio)
    assert isinstance(result, openai.types.audio.Transcription)
    assert result.text == PHRASE


@pytest.mark.parametrize(
    "fmt, expected",
    [
        ("text", "hallo welt\n"),
        ("srt", "1\n00:00:00,000 --> 00:00:01,000\nhallo welt\n\n"),
        ("vtt", "WEBVTT\n\n00:00:00.000 --> 00:00:01.000\nhallo welt\n\n"),
    ],
)
def test_transcription_text_formats(client, tone, fmt, expected):
    with tone.open("rb") as audio:
        result = client.audio.transcriptions.create(model="whisper-1", file=audio, response_format=fmt)
    assert result == expected


def test_transcription_verbose_json_with_words_and_segments(client, tone):
    with tone.open("rb") as audio:
        result = client.audio.transcriptions.create(
            model="gpt-4o-transcribe",
            file=audio,
            response_format="verbose_json",
            timestamp_granularities=["word", "segment"],
        )
    assert isinstance(result, openai.types.audio.TranscriptionVerbose)
    assert result.language == "german"
    assert result.text == PHRASE
    assert result.duration == pytest.approx(1.5, abs=0.01)
    assert [w.word for w in result.words] == ["hallo", "welt"]
    assert result.words[0].start == 0.0 and result.words[-1].end == 1.0
    assert 0.0 < result.words[0].end < 1.0
    (segment,) = result.segments
    assert segment.text == " hallo welt"
    assert (segment.start, segment.end, segment.seek) == (0.0, 1.0, 0)


def test_language_given_is_used(client, tone):
    with tone.open("rb") as audio:
        result = client.audio.transcriptions.create(
            model="whisper-1", file=audio, language="en", response_format="verbose_json"
        )
    assert result.language == "english"


def test_translation_json(client, tone):
    with tone.open("rb") as audio:
        result = client.audio.translations.create(model="whisper-1", file=audio)
    assert result.text == TRANSLATION


@pytest.mark.parametrize(
    "fmt, expected",
    [
        ("text", "hello world\n"),
        ("srt", "1\n00:00:00,020 --> 00:00:01,000\nhello world\n\n"),
        ("vtt", "WEBVTT\n\n00:00:00.020 --> 00:00:01.000\nhello world\n\n"),
    ],
)
def test_translation_text_formats(client, tone, fmt, expected):
    with tone.open("rb") as audio:
        result = client.audio.translations.create(model="whisper-1", file=audio, response_format=fmt)
    assert result == expected


def test_translation_verbose_json(client, tone):
    with tone.open("rb") as audio:
        result = client.audio.translations.create(model="whisper-1", file=audio, response_format="verbose_json")
    assert result.language == "english"
    assert result.text == TRANSLATION
    assert result.segments[0].text == " hello world"


def test_files_as_bytes_tuples_and_paths(client, tone):
    raw = tone.read_bytes()
    # Raw bytes reach the server as a part named "upload": content is sniffed, not the name.
    assert client.audio.transcriptions.create(model="whisper-1", file=raw).text == PHRASE
    assert client.audio.transcriptions.create(model="whisper-1", file=("clip.mp3", raw, "audio/mpeg")).text == PHRASE
    assert client.audio.transcriptions.create(model="whisper-1", file=tone).text == PHRASE


def test_models_list(client):
    ids = [model.id for model in client.models.list()]
    assert ids[:2] == ["scripted", "scripted-en"]
    assert "tiny-en" in ids and "tiny-multi" in ids


def test_errors_raise_the_sdk_exceptions(client, tone):
    raw = tone.read_bytes()
    with pytest.raises(openai.NotFoundError) as error:
        client.audio.transcriptions.create(model="no-such-model", file=raw)
    assert error.value.code == "model_not_found"
    assert error.value.param == "model"
    with pytest.raises(openai.BadRequestError) as error:
        client.audio.transcriptions.create(model="whisper-1", file=raw, temperature=3)
    assert error.value.param == "temperature"
    with pytest.raises(openai.BadRequestError) as error:
        client.audio.transcriptions.create(model="whisper-1", file=("notes.txt", b"not audio at all"))
    assert error.value.param == "file"
    assert error.value.body["type"] == "invalid_request_error"
