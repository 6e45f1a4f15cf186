"""Short human clips (LibriVox sentences, card names, commands) through the openai SDK: word
error rate within one point of faster-whisper's on the same weights."""

import pytest
import speech

MODELS = ["tiny.en", "base"]


@pytest.mark.parametrize("model", MODELS)
def test_short_clips_are_as_accurate_as_faster_whisper(model, hearsay, faster_whisper, short_clips, record):
    ours, theirs, lines = [], [], []
    for clip in short_clips:
        heard = hearsay.transcribe(model, speech.wav_bytes(clip.samples)).text
        reference = faster_whisper.transcribe(model, clip.samples).text
        ours.append((clip.text, heard))
        theirs.append((clip.text, reference))
        lines.append(f"{clip.name}: ours {heard!r} | faster-whisper {reference!r} | truth {clip.text!r}")
    our, their = speech.corpus_errors(ours), speech.corpus_errors(theirs)
    record("short clips (12 clips, 40 s of human speech)", model, "WER", our.wer, their.wer, " %")
    assert our.wer <= their.wer + 1.0, "\n".join(lines)


def test_base_names_the_language_english(hearsay, faster_whisper, short_clips):
    clip = next(c for c in short_clips if c.name.endswith("0870"))
    ours = hearsay.transcribe("base", speech.wav_bytes(clip.samples))
    theirs = faster_whisper.transcribe("base", clip.samples)
    assert theirs.language == "en"
    assert ours.language == "english"
