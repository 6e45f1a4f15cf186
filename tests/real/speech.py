"""Human speech and the measures the real-speech tests use: test sets built from
pocketsphinx-testdata, a text normaliser, word error rate, word alignment, segment statistics,
repetition and subtitle checks. No model runs here."""

from __future__ import annotations

import gzip
import io
import random
import re
import wave
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

RATE = 16_000


@dataclass
class Clip:
    name: str
    samples: np.ndarray  # float32, 16 kHz mono
    text: str

    @property
    def seconds(self) -> float:
        return len(self.samples) / RATE


@dataclass
class LongForm:
    """A long recording as a WAV file, its reference text, its length, and where each clip
    lies when it was built from clips."""

    wav: bytes
    text: str
    seconds: float
    placed: list[tuple[float, float, str]] = field(default_factory=list)


def read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path)) as w:
        assert w.getframerate() == RATE and w.getnchannels() == 1 and w.getsampwidth() == 2
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768


def read_raw(path: Path) -> np.ndarray:
    return np.frombuffer(path.read_bytes(), dtype="<i2").astype(np.float32) / 32768


def wav_bytes(samples: np.ndarray, rate: int = RATE) -> bytes:
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return out.getvalue()


def _transcripts(path: Path) -> dict[str, str]:
    """pocketsphinx's `<s> words </s> (id)` lines, by id."""
    found = {}
    for line in path.read_text().splitlines():
        match = re.match(r"\s*<s>(.*)</s>\s*\((.+)\)\s*$", line)
        if match:
            found[match.group(2).strip()] = " ".join(match.group(1).split())
    return found


# Two of the raw recordings, whose words pocketsphinx's own tests assert (numbers.raw has no
# published transcript, so it is left out).
RAW_COMMANDS = {
    "goforward": "go forward ten meters",
    "something": "go somewhere and do something",
}


def librivox(speech: Path) -> list[Clip]:
    texts = _transcripts(speech / "librivox/transcription")
    return [Clip(name, read_wav(speech / f"librivox/{name}.wav"), text) for name, text in sorted(texts.items())]


def cards(speech: Path) -> list[Clip]:
    texts = _transcripts(speech / "cards/cards.transcription")
    return [Clip(f"card-{name}", read_wav(speech / f"cards/{name}.wav"), text) for name, text in sorted(texts.items())]


def commands(speech: Path) -> list[Clip]:
    return [Clip(name, read_raw(speech / f"{name}.raw"), text) for name, text in RAW_COMMANDS.items()]


def short_clips(speech: Path) -> list[Clip]:
    return librivox(speech) + cards(speech) + commands(speech)


def long_form(clips: list[Clip], min_seconds: float, seed: int, long_pause_every: int = 7) -> LongForm:
    """Rounds of the clips in shuffled order, with pauses of 0.4 to 2.5 s between them and a
    pause of 6 to 10 s every few clips, until `min_seconds` is reached."""
    rng = random.Random(seed)
    pieces, texts, placed = [], [], []
    at = 0
    count = 0
    silence = lambda seconds: np.zeros(int(seconds * RATE), dtype=np.float32)  # noqa: E731
    pieces.append(silence(0.5))
    at += len(pieces[-1])
    while at < min_seconds * RATE:
        order = clips[:]
        rng.shuffle(order)
        for clip in order:
            placed.append((at / RATE, (at + len(clip.samples)) / RATE, clip.text))
            pieces.append(clip.samples)
            texts.append(clip.text)
            at += len(clip.samples)
            count += 1
            pause = rng.uniform(6, 10) if count % long_pause_every == 0 else rng.uniform(0.4, 2.5)
            pieces.append(silence(pause))
            at += len(pieces[-1])
    samples = np.concatenate(pieces)
    return LongForm(wav_bytes(samples), " ".join(texts), len(samples) / RATE, placed)


# ---------------------------------------------------------------- text normalisation and WER

_ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_ABBREVIATIONS = {"mr": "mister", "mrs": "missus", "dr": "doctor", "st": "saint", "ok": "okay"}
_BRITISH = {"colour": "color", "favour": "favor", "honour": "honor", "behaviour": "behavior"}


def _number_words(n: int) -> str:
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    if n < 1000:
        rest = n % 100
        return _ONES[n // 100] + " hundred" + ("" if rest == 0 else " " + _number_words(rest))
    if n < 1_000_000:
        rest = n % 1000
        return _number_words(n // 1000) + " thousand" + ("" if rest == 0 else " " + _number_words(rest))
    return " ".join(_ONES[int(d)] for d in str(n))


def _digits(match: re.Match) -> str:
    token = match.group(0)
    if len(token) > 1 and token.startswith("0"):
        return " ".join(_ONES[int(d)] for d in token)
    return _number_words(int(token))


def normalize(text: str) -> list[str]:
    """Words for scoring: lower case, no punctuation, hyphens and slashes as spaces, digits as
    number words, common abbreviations spelled out. Applied to reference and hypothesis alike."""
    text = text.lower().replace("’", "'")
    text = re.sub(r"[-/–—]", " ", text)
    text = re.sub(r"(\d),(\d)", r"\1\2", text)
    text = re.sub(r"\d+", _digits, text)
    text = re.sub(r"[^a-z' ]+", " ", text)
    words = []
    for word in text.split():
        word = word.strip("'")
        if not word:
            continue
        word = _ABBREVIATIONS.get(word, word)
        word = _BRITISH.get(word, word)
        words.extend(word.split())
    return words


def align(ref: list[str], hyp: list[str]) -> list[tuple[int | None, int | None]]:
    """A minimum-edit alignment: pairs (i, j) of matched or substituted words, (i, None)
    deletions and (None, j) insertions, in order."""
    n, m = len(ref), len(hyp)
    cost = np.zeros((n + 1, m + 1), dtype=np.int32)
    cost[:, 0] = np.arange(n + 1)
    cost[0, :] = np.arange(m + 1)
    for i in range(1, n + 1):
        row, prev = cost[i], cost[i - 1]
        same = np.array([ref[i - 1] == h for h in hyp], dtype=np.int32)
        diagonal = prev[:-1] + 1 - same
        up = prev[1:] + 1
        best = np.minimum(diagonal, up)
        for j in range(1, m + 1):
            row[j] = min(best[j - 1], row[j - 1] + 1)
    pairs = []
    i, j = n, m
    while i > 0 or j > 0:
        if i > 0 and j > 0 and cost[i, j] == cost[i - 1, j - 1] + (ref[i - 1] != hyp[j - 1]):
            pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif i > 0 and cost[i, j] == cost[i - 1, j] + 1:
            pairs.append((i - 1, None))
            i -= 1
        else:
            pairs.append((None, j - 1))
            j -= 1
    return pairs[::-1]


@dataclass
class Errors:
    substitutions: int = 0
    deletions: int = 0
    insertions: int = 0
    words: int = 0

    def __add__(self, other: Errors) -> Errors:
        return Errors(
            self.substitutions + other.substitutions,
            self.deletions + other.deletions,
            self.insertions + other.insertions,
            self.words + other.words,
        )

    @property
    def wer(self) -> float:
        """Word error rate in percent."""
        return 100.0 * (self.substitutions + self.deletions + self.insertions) / max(self.words, 1)


def errors(reference: str, hypothesis: str) -> Errors:
    ref, hyp = normalize(reference), normalize(hypothesis)
    out = Errors(words=len(ref))
    for i, j in align(ref, hyp):
        if j is None:
            out.deletions += 1
        elif i is None:
            out.insertions += 1
        elif ref[i] != hyp[j]:
            out.substitutions += 1
    return out


def corpus_errors(pairs: list[tuple[str, str]]) -> Errors:
    total = Errors()
    for reference, hypothesis in pairs:
        total = total + errors(reference, hypothesis)
    return total


# ---------------------------------------------------------------- segments, words, subtitles


@dataclass
class Word:
    text: str
    start: float
    end: float


def matched_word_starts(ours: list[Word], theirs: list[Word]) -> list[float]:
    """|start difference| of the words both transcripts agree on, by a minimum-edit alignment
    of their normalised text."""
    def expand(words: list[Word]) -> tuple[list[str], list[float]]:
        texts, starts = [], []
        for word in words:
            for piece in normalize(word.text):
                texts.append(piece)
                starts.append(word.start)
        return texts, starts

    a_text, a_start = expand(ours)
    b_text, b_start = expand(theirs)
    return [
        abs(a_start[j] - b_start[i])
        for i, j in align(b_text, a_text)
        if i is not None and j is not None and b_text[i] == a_text[j]
    ]


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) if values else 0.0


def compression_ratio(text: str) -> float:
    """Bytes over gzip'd bytes, as whisper judges repetition (a loop compresses well)."""
    data = text.encode()
    return len(data) / max(len(gzip.compress(data)), 1)


def longest_repeat(words: list[str], min_len: int = 3) -> int:
    """The most times any phrase of `min_len` or more words repeats back to back."""
    best = 1
    for size in range(min_len, min(12, len(words) // 2) + 1):
        for start in range(len(words) - size):
            phrase = words[start : start + size]
            count, at = 1, start + size
            while words[at : at + size] == phrase:
                count += 1
                at += size
            best = max(best, count)
    return best


_SRT_TIME = r"(\d\d):(\d\d):(\d\d),(\d\d\d)"
_VTT_TIME = r"(?:(\d\d):)?(\d\d):(\d\d)\.(\d\d\d)"


def _seconds(groups: tuple) -> float:
    h, m, s, ms = (int(g) if g else 0 for g in groups)
    return h * 3600 + m * 60 + s + ms / 1000


@dataclass
class Cue:
    start: float
    end: float
    text: str


def parse_srt(body: str) -> list[Cue]:
    """Strict SubRip: numbered blocks from 1, `HH:MM:SS,mmm --> HH:MM:SS,mmm`, text lines."""
    cues = []
    blocks = [b for b in body.replace("\r\n", "\n").split("\n\n") if b.strip()]
    for number, block in enumerate(blocks, start=1):
        lines = block.split("\n")
        assert lines[0] == str(number), f"cue {number} is numbered {lines[0]!r}"
        match = re.fullmatch(f"{_SRT_TIME} --> {_SRT_TIME}", lines[1])
        assert match, f"bad srt timing line {lines[1]!r}"
        g = match.groups()
        cues.append(Cue(_seconds(g[:4]), _seconds(g[4:]), "\n".join(lines[2:])))
    return cues


def parse_vtt(body: str) -> list[Cue]:
    """WebVTT: the `WEBVTT` header, then cues of an optional id, a timing line and text."""
    body = body.replace("\r\n", "\n")
    assert body.startswith("WEBVTT"), "no WEBVTT header"
    cues = []
    for block in [b for b in body.split("\n\n")[1:] if b.strip()]:
        lines = block.split("\n")
        if "-->" not in lines[0]:
            lines = lines[1:]
        match = re.fullmatch(f"{_VTT_TIME} --> {_VTT_TIME}(?: .*)?", lines[0])
        assert match, f"bad vtt timing line {lines[0]!r}"
        g = match.groups()
        cues.append(Cue(_seconds(g[:4]), _seconds(g[4:]), "\n".join(lines[1:])))
    return cues
