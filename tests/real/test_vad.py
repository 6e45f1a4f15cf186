"""Voice activity detection with the real Silero v6.2.0 (on by default when it is installed)."""

import numpy as np
import speech

SECOND = speech.RATE


def test_twenty_seconds_of_silence_is_empty_text(hearsay):
    silence = np.zeros(20 * SECOND, dtype=np.float32)
    assert hearsay.transcribe("base", speech.wav_bytes(silence)).text == ""


def test_twenty_seconds_of_noise_is_empty_text(hearsay):
    rng = np.random.default_rng(20)
    white = rng.normal(0, 0.05, 20 * SECOND)
    # Brown-ish noise too: the low rumble of a room, not only hiss.
    rumble = np.cumsum(rng.normal(0, 0.002, 20 * SECOND))
    rumble -= np.convolve(rumble, np.ones(SECOND) / SECOND, mode="same")
    noise = (white + rumble).astype(np.float32)
    assert hearsay.transcribe("base", speech.wav_bytes(noise)).text == ""


def test_speech_after_a_long_silence_keeps_its_true_times(hearsay, faster_whisper, short_clips):
    clip = next(c for c in short_clips if c.name.endswith("0870"))
    lead = 47.5
    samples = np.concatenate([np.zeros(int(lead * SECOND), np.float32), clip.samples, np.zeros(SECOND, np.float32)])
    ours = hearsay.transcribe("base", speech.wav_bytes(samples))
    theirs = faster_whisper.transcribe("base", samples)
    alone = faster_whisper.transcribe("base", clip.samples)
    assert speech.errors(clip.text, ours.text).wer <= speech.errors(clip.text, theirs.text).wer + 5
    # The speech starts where faster-whisper finds it on the clip alone, shifted by the silence.
    assert abs(ours.segments[0][0] - (lead + alone.segments[0][0])) <= 0.5, ours.segments
    assert abs(ours.words[0].start - (lead + alone.words[0].start)) <= 0.5, (ours.words[:2], alone.words[:2])
    assert all(lead - 0.3 <= w.start <= lead + clip.seconds + 0.3 for w in ours.words), ours.words


def test_the_same_long_file_with_and_without_vad_gives_the_same_words(hearsay, clips_long_form, record):
    with_vad = hearsay.transcribe("base", clips_long_form.wav, vad=True)
    without = hearsay.transcribe("base", clips_long_form.wav, vad=False)
    between = speech.errors(without.text, with_vad.text)
    record("long form: human clips with pauses", "base", "WER with VAD against without", between.wer, None, " %")
    assert between.wer <= 1.0, f"with VAD: {with_vad.text}\n\nwithout: {without.text}"
