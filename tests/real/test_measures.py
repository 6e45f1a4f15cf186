"""The measures themselves: normaliser, WER, alignment, repetition, subtitle parsing."""

import pytest
import speech


def test_normalize_folds_case_punctuation_digits_and_titles():
    assert speech.normalize("Mr. Dashwood, 10 of clubs!") == ["mister", "dashwood", "ten", "of", "clubs"]
    assert speech.normalize("ill-disposed 2007 007") == ["ill", "disposed", "two", "thousand", "seven", "zero", "zero", "seven"]
    assert speech.normalize("  ") == []


def test_wer_counts_each_kind_of_error():
    e = speech.errors("a b c d", "a x c d e")
    assert (e.substitutions, e.deletions, e.insertions, e.words) == (1, 0, 1, 4)
    assert e.wer == 50.0
    e = speech.errors("a b c d", "a d")
    assert (e.substitutions, e.deletions, e.insertions) == (0, 2, 0)
    assert speech.errors("one two", "One, two.").wer == 0.0


def test_word_starts_are_compared_on_the_words_both_heard():
    ours = [speech.Word(" Ten", 1.0, 1.2), speech.Word(" of", 1.3, 1.4), speech.Word(" clubs", 1.5, 1.9)]
    theirs = [speech.Word(" 10", 1.1, 1.2), speech.Word(" off", 1.3, 1.4), speech.Word(" clubs.", 1.4, 1.8)]
    assert speech.matched_word_starts(ours, theirs) == pytest.approx([0.1, 0.1])


def test_longest_repeat_finds_loops():
    assert speech.longest_repeat("he might be a man he might be a man he might be a man".split()) == 3
    assert speech.longest_repeat("one two three four five six".split()) == 1
    assert speech.compression_ratio("he might be a man of his own. " * 6) > 2.4


def test_subtitles_parse_strictly():
    srt = "1\n00:00:01,000 --> 00:00:02,500\nhello\n\n2\n00:01:00,000 --> 00:01:01,000\nagain\n\n"
    assert [(c.start, c.end, c.text) for c in speech.parse_srt(srt)] == [(1.0, 2.5, "hello"), (60.0, 61.0, "again")]
    vtt = "WEBVTT\n\n00:00:01.000 --> 00:00:02.500\nhello\n\n"
    assert [(c.start, c.end) for c in speech.parse_vtt(vtt)] == [(1.0, 2.5)]
    with pytest.raises(AssertionError):
        speech.parse_srt("2\n00:00:01,000 --> 00:00:02,500\nhello\n")
