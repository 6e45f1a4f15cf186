#!/usr/bin/env python3
"""Regenerates tests/fixtures/piper_phonemes.json: piper-tts 1.8.0's own phonemes and ids.

Run it with piper-tts installed, e.g.
    python3 -m venv /tmp/pipervenv
    /tmp/pipervenv/bin/pip install piper-tts==1.8.0 onnxruntime==1.31.1
    /tmp/pipervenv/bin/python scripts/make_piper_phoneme_fixture.py

For every text it records what `PiperVoice.phonemize` (espeak phoneme type, piper's embedded
espeak-ng and data) and `PiperVoice.phonemes_to_ids` (piper's DEFAULT_PHONEME_ID_MAP) give.
No voice model is needed: phonemization only reads the voice config.

Entries whose difference from hearsay is espeak-ng issue #2367 (piper's embedded espeak-ng
is a git snapshot with that regression; hearsay's pinned 1.52 is not) carry
`allowed_difference` and `hearsay_sentences`/`hearsay_ids`. Those fields are written by hand
after checking the difference, and this script keeps them when it regenerates an entry with
the same voice and text.
"""

import json
import sys
from pathlib import Path

import piper
from piper import PiperVoice
from piper.config import PiperConfig
from piper.phoneme_ids import DEFAULT_PHONEME_ID_MAP

FIXTURE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "piper_phonemes.json"
KEPT_FIELDS = ("allowed_difference", "hearsay_sentences", "hearsay_ids")

# (voice, text) or (voice, text, vowel_clusters)
CASES = [
    # English: abbreviations, numbers, quotes, "?!", ellipses, dashes, paragraphs, blocks.
    ("en-us", "Hello world. This is a test of the text to speech system."),
    ("en-us", "Dr. Smith lives on St. James St. at 10:30 a.m., doesn't he?"),
    ("en-us", "The U.S.A.'s GDP grew 3.5% in 2023, i.e. about $1,234,567.89."),
    ("en-us", 'She said, "It\'s fine!" and left... then came back.'),
    ("en-us", "Really?! You paid €20 for that — seriously?"),
    ("en-us", "Wait… what happened here; nobody knows: not even me."),
    ("en-us", "First paragraph ends here.\n\nSecond paragraph starts here.\nSame paragraph, new line."),
    ("en-us", "A sentence without final punctuation"),
    ("en-us", "Hello [[ wˈɜːld ]] and goodbye."),
    ("en-us", "[[həlˈoʊ]]. Next sentence here. And [[wˈɜːld]]"),
    ("en-us", "Thirty-three people read the 1st, 2nd and 3rd editions in the 1990s."),
    ("en-us", "Is it the end? Yes, it is the end (for now)."),
    ("en-us", "The café's naïve résumé costs 5 € – or 'so' they say!"),
    ("en-us", "Mr. O'Neil, e.g. the CEO, called at 3 p.m. on Jan. 5th, 2024!!"),
    ("en-us", "I like pie and ice cream, my wife likes tea.", [["a", "ɪ"], ["e", "ɪ"], ["o", "ʊ"]]),
    ("en-gb-x-rp", "Colour, theatre and aluminium are spelt differently in Britain."),
    # German.
    ("de", "Guten Tag! Wie geht es Ihnen heute?"),
    ("de", "Die Straße ist drei Kilometer lang, und wir fahren am 3. Oktober nach Frankfurt."),
    ("de", "Das Wetter ist schön; trotzdem bleibe ich zu Hause."),
    ("de", "Er sagte: „Ich komme um 15:30 Uhr.“ Dann ging er."),
    ("de", "Fünfundzwanzig Bücher liegen auf dem großen Tisch"),
    # Spanish.
    ("es", "¿Dónde está la biblioteca? Está cerca del parque."),
    ("es", "¡Qué día tan bonito! Vamos a la playa, ¿verdad?"),
    ("es", "El niño comió 25 manzanas y 3 peras el 12 de mayo de 2024."),
    # Mandarin.
    ("cmn", "你好，世界。今天天气很好！"),
    ("cmn", "我们明天去北京吗？"),
    ("cmn", "这本书有一百二十三页，价格是45元。"),
]


def phonemize(voice_name, text, vowel_clusters):
    config = {
        "num_symbols": 256,
        "num_speakers": 1,
        "audio": {"sample_rate": 22050},
        "espeak": {"voice": voice_name},
        "phoneme_id_map": DEFAULT_PHONEME_ID_MAP,
    }
    if vowel_clusters:
        config["vowel_clusters"] = vowel_clusters
    voice = PiperVoice(session=None, config=PiperConfig.from_dict(config))
    sentences = voice.phonemize(text)
    return sentences, [voice.phonemes_to_ids(sentence) for sentence in sentences]


def main():
    old = {}
    if FIXTURE.exists():
        for entry in json.loads(FIXTURE.read_text(encoding="utf-8"))["entries"]:
            old[(entry["voice"], entry["text"])] = entry

    entries = []
    for case in CASES:
        voice_name, text = case[0], case[1]
        vowel_clusters = case[2] if len(case) > 2 else None
        sentences, ids = phonemize(voice_name, text, vowel_clusters)
        entry = {"voice": voice_name, "text": text}
        if vowel_clusters:
            entry["vowel_clusters"] = vowel_clusters
        entry["sentences"] = sentences
        entry["ids"] = ids
        previous = old.get((voice_name, text))
        if previous and previous.get("sentences") == sentences:
            entry.update({k: previous[k] for k in KEPT_FIELDS if k in previous})
        entries.append(entry)

    fixture = {
        "generator": "scripts/make_piper_phoneme_fixture.py",
        "piper_tts": getattr(piper, "__version__", None) or _dist_version("piper-tts"),
        "phoneme_id_map": DEFAULT_PHONEME_ID_MAP,
        "entries": entries,
    }
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    FIXTURE.write_text(_dump(fixture), encoding="utf-8")
    print(f"wrote {len(entries)} entries to {FIXTURE}", file=sys.stderr)


def _dump(fixture):
    """JSON with one line per sentence, so diffs stay readable."""

    def compact(value):
        return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))

    lines = ["{"]
    for key in ("generator", "piper_tts", "phoneme_id_map"):
        lines.append(f" {compact(key)}: {compact(fixture[key])},")
    lines.append(' "entries": [')
    for n, entry in enumerate(fixture["entries"]):
        fields = []
        for key, value in entry.items():
            if key in ("sentences", "ids", "hearsay_sentences", "hearsay_ids"):
                rows = ",\n".join(f"    {compact(row)}" for row in value)
                fields.append(f"   {compact(key)}: [\n{rows}\n   ]")
            else:
                fields.append(f"   {compact(key)}: {compact(value)}")
        comma = "," if n + 1 < len(fixture["entries"]) else ""
        lines.append("  {\n" + ",\n".join(fields) + "\n  }" + comma)
    lines.append(" ]")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dist_version(name):
    from importlib.metadata import version

    return version(name)


if __name__ == "__main__":
    main()
