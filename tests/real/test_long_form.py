"""Long-form speech (at least 3 minutes): human clips joined with pauses, and the real Piper
voice reading a licence preamble. hearsay must match faster-whisper on the same weights in
accuracy, segment lengths, timestamps and subtitles, and never loop."""

import statistics

import pytest
import speech

CASES = [("clips", "base"), ("clips", "tiny.en"), ("piper", "base")]


SET_NAMES = {
    "clips": "long form: human clips with pauses",
    "piper": "long form: Piper joe reads the GPL-3 preamble",
}


@pytest.fixture(scope="session")
def long_forms(clips_long_form, piper_long_form):
    return {"clips": clips_long_form, "piper": piper_long_form}


@pytest.fixture(scope="session")
def runs(hearsay, faster_whisper, long_forms):
    """Each (set, model) transcribed once by each engine, shared by the tests below."""
    done = {}

    def get(set_name: str, model: str):
        key = (set_name, model)
        if key not in done:
            audio = long_forms[set_name]
            done[key] = (hearsay.transcribe(model, audio.wav), faster_whisper.transcribe(model, audio.wav))
        return done[key]

    return get


def test_the_long_files_are_long(long_forms):
    assert all(audio.seconds >= 180 for audio in long_forms.values()), {
        name: audio.seconds for name, audio in long_forms.items()
    }


@pytest.mark.parametrize("set_name, model", CASES)
def test_word_error_rate_within_a_point(set_name, model, runs, long_forms, record):
    ours, theirs = runs(set_name, model)
    truth = long_forms[set_name].text
    our, their = speech.errors(truth, ours.text), speech.errors(truth, theirs.text)
    record(SET_NAMES[set_name], model, "WER", our.wer, their.wer, " %")
    assert our.wer <= their.wer + 1.0, f"ours: {ours.text}\n\nfaster-whisper: {theirs.text}"


def lengths(result) -> list[float]:
    return [end - start for start, end, _ in result.segments]


@pytest.mark.parametrize("set_name, model", CASES)
def test_segments_are_sentence_sized(set_name, model, runs, record):
    ours, theirs = runs(set_name, model)
    our_p90, their_p90 = speech.percentile(lengths(ours), 90), speech.percentile(lengths(theirs), 90)
    record(SET_NAMES[set_name], model, "segment length p90", our_p90, their_p90, " s")
    record(SET_NAMES[set_name], model, "segment length max", max(lengths(ours)), max(lengths(theirs)), " s")
    record(SET_NAMES[set_name], model, "segments", len(ours.segments), len(theirs.segments))
    assert our_p90 <= their_p90 + 2.0, [(round(s, 2), round(e, 2), t) for s, e, t in ours.segments]


@pytest.mark.parametrize("set_name, model", CASES)
def test_no_repetition_loops(set_name, model, runs, long_forms):
    ours, _ = runs(set_name, model)
    truth = speech.normalize(long_forms[set_name].text)
    heard = speech.normalize(ours.text)
    # A loop repeats a phrase back to back more often than the speaker did.
    assert speech.longest_repeat(heard) <= max(speech.longest_repeat(truth), 1), ours.text
    for start, end, text in ours.segments:
        assert speech.compression_ratio(text) <= 2.4, (start, end, text)
    # Nor does it add words: no more than 2 % beyond what was said.
    assert len(heard) <= len(truth) * 1.02, ours.text


@pytest.mark.parametrize("set_name, model", CASES)
def test_timestamps_are_ordered_and_inside_the_audio(set_name, model, runs, long_forms):
    ours, _ = runs(set_name, model)
    duration = long_forms[set_name].seconds
    previous_end = 0.0
    for start, end, text in ours.segments:
        assert 0.0 <= start <= end <= duration + 0.01, (start, end, text)
        assert start >= previous_end - 0.01, f"{text!r} starts at {start} before {previous_end}"
        previous_end = end
    previous = 0.0
    for word in ours.words:
        assert previous - 0.01 <= word.start <= word.end <= duration + 0.01, word
        previous = word.start


@pytest.mark.parametrize("set_name, model", CASES)
def test_word_starts_agree_with_faster_whisper(set_name, model, runs, record):
    ours, theirs = runs(set_name, model)
    gaps = speech.matched_word_starts(ours.words, theirs.words)
    assert len(gaps) >= 0.8 * len(theirs.words)
    median = statistics.median(gaps)
    record(SET_NAMES[set_name], model, "word start vs faster-whisper, median", median, None, " s")
    assert median <= 0.2


@pytest.fixture(scope="session")
def subtitles(hearsay, long_forms) -> dict:
    """The human long form as srt and as vtt: two requests for the same upload."""
    wav = long_forms["clips"].wav
    bodies = {fmt: hearsay.subtitles("base", wav, fmt) for fmt in ("srt", "vtt")}
    return {"srt": speech.parse_srt(bodies["srt"]), "vtt": speech.parse_vtt(bodies["vtt"])}


@pytest.mark.parametrize("fmt", ["srt", "vtt"])
def test_subtitles_are_readable(fmt, subtitles, runs):
    cues = subtitles[fmt]
    _, theirs = runs("clips", "base")
    longest_theirs = max(lengths(theirs))
    assert cues
    previous_end = 0.0
    for cue in cues:
        duration = cue.end - cue.start
        assert cue.text.strip(), cue
        assert cue.start >= previous_end - 0.01, cue
        assert 0.3 <= duration <= longest_theirs + 2.0, cue
        # A reader keeps up with at most about 25 characters a second.
        assert len(cue.text) / duration <= 25, cue
        previous_end = cue.end


def test_the_same_upload_gives_the_same_transcript(subtitles, runs):
    """The srt and vtt requests (with other requests before them) hear the same words at the
    same times: no state of one request reaches the next."""
    assert subtitles["srt"] == subtitles["vtt"]
    ours, _ = runs("clips", "base")
    assert " ".join(cue.text for cue in subtitles["srt"]).split() == ours.text.split()
