#!/usr/bin/env python3
"""Deterministic synthetic whisper.cpp models for hearsay's tests and benchmarks.

The "scripted" whisper models say a fixed sentence for ANY audio. Their decoder is a
*bigram* model that only looks at the last token:

* every token of the script gets a zero-mean orthonormal direction d_t (a Walsh-Hadamard
  row without row 0; zero mean, so LayerNorm only rescales it) and the embedding
  s*d_t; every other embedding row is 0 (logit 0);
* layer 0's MLP has one hidden unit per current token c: it reads d_c and writes the
  directions of the wanted next token(s), which then get logit ~40 through the tied
  output projection after the final LayerNorm; all other logits stay ~0;
* attention outputs and positional embeddings are zero, so audio, position and
  earlier tokens do not matter. The one exception is a self-attention head that
  lets <|notimestamps|> see whether <|translate|> is in the prompt, so translate also
  works without timestamps.

Script (multilingual): SOT -> <|de|> (language detection), <|transcribe|> -> <|0.00|>
-> " hallo" -> " welt" -> <|1.00|> -> EOT and <|translate|> -> <|0.02|> -> " hello"
-> " world" -> <|1.00|> -> EOT. The segment ends with a single timestamp, so whisper.cpp
jumps a whole 30 s window per segment. " welt"/" world" also point (weaker) at EOT, which
is what ends the text when timestamps are suppressed (no_timestamps). English-only:
SOT -> <|0.00|> -> " hello" -> " there" -> <|1.00|> -> EOT (and SOT -> <|en|> for
language detection). The encoder is seeded noise (numerically sane, realistic cost).

The synthetic Silero VAD model ("energy" mode) reports p~0 for silence and p~1 for a
loud signal.

Output is byte-for-byte reproducible: a counter-based PRNG (splitmix64), explicit
little-endian dtypes, and only exact IEEE arithmetic on anything that is written.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import sys
import time
import zlib

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ggml_writer as gw  # noqa: E402

SEED = 20240917

# Sizes of the presets: (n_state, n_head, n_audio_layer, n_text_layer).
PRESETS = {
    "mini": (64, 2, 1, 1),
    "tiny": (384, 6, 4, 4),
    "base": (512, 8, 6, 6),
}

# whisper.cpp g_lang indices.
LANG_INDEX = {"en": 0, "de": 2}

# Vocab written to the file: the 256 single bytes (id = byte value, so " " is id 32)
# followed by the script words. Ids past the list get names synthesized by whisper.cpp.
SCRIPT_WORDS = [b" hallo", b" welt", b" hello", b" world", b" there"]
VOCAB = [bytes([b]) for b in range(256)] + SCRIPT_WORDS
WORD_ID = {w.decode().strip(): 256 + i for i, w in enumerate(SCRIPT_WORDS)}

# Logit scale: a token that is the sole target gets logit ~LOGIT (others ~0).
LOGIT = 40.0
# Residual added by the MLP for a target, in units of the embedding scale s.
# (GELU(4) ~ 4 times 10.)
MLP_PRE = 4.0
MLP_OUT = 10.0
# Weight of the secondary EOT target after the last word (used with no_timestamps).
EOT_WEIGHT = 0.6
# The translate flag written by the attention head, in units of s.
FLAG_GAIN = 1.5
# Attention score of <|notimestamps|> on <|translate|> (softmax ~one-hot).
GATE_SCORE = 30.0


# ------------------------------------------------------------------ determinism helpers


def splitmix64_uniform(key: str, count: int) -> np.ndarray:
    """`count` uniform floats in [-1, 1) from splitmix64 keyed by `key` (platform independent)."""
    base = np.uint64((SEED * 0x100000001 + zlib.crc32(key.encode())) & 0xFFFFFFFFFFFFFFFF)
    with np.errstate(over="ignore"):
        z = base + np.arange(1, count + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    # 53 random bits -> exact float64 in [0, 1) -> [-1, 1).
    return (z >> np.uint64(11)).astype(np.float64) * (2.0**-52) - 1.0


def seeded_noise(key: str, shape: tuple[int, ...], amplitude: float) -> np.ndarray:
    return (splitmix64_uniform(key, math.prod(shape)) * amplitude).astype(np.float32).reshape(shape)


def hadamard_directions(n_state: int, count: int) -> np.ndarray:
    """`count` orthonormal, zero-mean vectors of length n_state (rows 1.. of a Sylvester
    Hadamard matrix of the largest power-of-two size m <= n_state, zero-padded).
    Entries are exactly +-1/sqrt(m)."""
    m = 1 << (n_state.bit_length() - 1)
    if count > m - 1:
        raise ValueError(f"n_state {n_state} gives only {m - 1} directions, need {count}")
    cols = np.arange(m, dtype=np.int64)
    out = np.zeros((count, n_state), dtype=np.float64)
    for k in range(count):
        bits = (k + 1) & cols
        parity = np.zeros(m, dtype=np.int64)
        while bits.any():
            parity ^= bits & 1
            bits = bits >> 1
        out[k, :m] = (1 - 2 * parity) / math.sqrt(m)
    return out


# ------------------------------------------------------------------ the script


@dataclasses.dataclass
class Script:
    """What a scripted model says: bigram transitions on the last token."""

    multilingual: bool
    tokens: gw.WhisperSpecialTokens
    # current token -> [(next token, weight)]
    transitions: dict[int, list[tuple[int, float]]]
    # <|notimestamps|> continues with `notimestamps_plain`, or `notimestamps_translate`
    # when <|translate|> is in the prompt (None: no gate).
    notimestamps_plain: int
    notimestamps_translate: int | None
    lang_token: int
    expected: dict[str, list[int]]


def make_script(multilingual: bool) -> Script:
    n_vocab = 51865 if multilingual else 51864
    t = gw.WhisperSpecialTokens.for_vocab(n_vocab)
    w = WORD_ID
    ts0, ts002, ts1 = t.timestamp(0.0), t.timestamp(0.02), t.timestamp(1.0)
    if multilingual:
        lang = t.lang(LANG_INDEX["de"])
        transitions = {
            t.sot: [(lang, 1.0)],
            t.transcribe: [(ts0, 1.0)],
            ts0: [(w["hallo"], 1.0)],
            w["hallo"]: [(w["welt"], 1.0)],
            w["welt"]: [(ts1, 1.0), (t.eot, EOT_WEIGHT)],
            t.translate: [(ts002, 1.0)],
            ts002: [(w["hello"], 1.0)],
            w["hello"]: [(w["world"], 1.0)],
            w["world"]: [(ts1, 1.0), (t.eot, EOT_WEIGHT)],
            ts1: [(t.eot, 1.0)],
        }
        expected = {
            "transcribe": [ts0, w["hallo"], w["welt"], ts1, t.eot],
            "translate": [ts002, w["hello"], w["world"], ts1, t.eot],
            "transcribe_nots": [w["hallo"], w["welt"], t.eot],
            "translate_nots": [w["hello"], w["world"], t.eot],
        }
        return Script(True, t, transitions, w["hallo"], w["hello"], lang, expected)
    # English-only: the prompt is just SOT (no language or task token). SOT also points,
    # weaker, at <|en|>: language tokens are suppressed while decoding, so this only makes
    # language detection say "en" instead of an arbitrary tie-break.
    lang = t.lang(LANG_INDEX["en"])
    transitions = {
        t.sot: [(ts0, 1.0), (lang, 0.5)],
        ts0: [(w["hello"], 1.0)],
        w["hello"]: [(w["there"], 1.0)],
        w["there"]: [(ts1, 1.0), (t.eot, EOT_WEIGHT)],
        ts1: [(t.eot, 1.0)],
    }
    expected = {
        "transcribe": [ts0, w["hello"], w["there"], ts1, t.eot],
        "transcribe_nots": [w["hello"], w["there"], t.eot],
    }
    return Script(False, t, transitions, w["hello"], None, lang, expected)


# ------------------------------------------------------------------ whisper model


def build_scripted_whisper(preset: str, multilingual: bool, ftype: int = gw.FTYPE_MOSTLY_F16) -> tuple[gw.WhisperHParams, list[tuple[str, np.ndarray]], Script]:
    n, n_head, n_audio_layer, n_text_layer = PRESETS[preset]
    if n_text_layer == 2:
        raise ValueError("n_text_layer == 2 makes whisper.cpp treat the model as distil (no timestamps)")
    script = make_script(multilingual)
    tok = script.tokens
    hp = gw.WhisperHParams(
        n_vocab=51865 if multilingual else 51864,
        n_audio_ctx=1500,
        n_audio_state=n,
        n_audio_head=n_head,
        n_audio_layer=n_audio_layer,
        n_text_ctx=448,
        n_text_state=n,
        n_text_head=n_head,
        n_text_layer=n_text_layer,
        n_mels=80,
        ftype=ftype,
    )
    shapes = dict(gw.whisper_tensor_shapes(hp))

    # Directions: every token that appears in the script, plus the translate flag.
    controlled = sorted(
        {c for c in script.transitions}
        | {nt for targets in script.transitions.values() for nt, _ in targets}
        | {tok.notimestamps, script.notimestamps_plain}
        | ({tok.translate, script.notimestamps_translate} if script.notimestamps_translate else set())
    )
    dirs = hadamard_directions(n, len(controlled) + 1)
    d = {t: dirs[i] for i, t in enumerate(controlled)}
    d_flag = dirs[len(controlled)]

    s = LOGIT / math.sqrt(n)  # embedding scale: LN(x)=sqrt(n)*d, so logit = s*sqrt(n)
    tensors: dict[str, np.ndarray] = {}

    def noise(name: str, amplitude: float = 0.03) -> np.ndarray:
        return seeded_noise(name, shapes[name], amplitude)

    def zeros(name: str) -> np.ndarray:
        return np.zeros(shapes[name], dtype=np.float32)

    def ones(name: str) -> np.ndarray:
        return np.ones(shapes[name], dtype=np.float32)

    # Encoder: seeded noise, unit LayerNorms, zero biases. Its output only reaches the
    # decoder through cross-attention, whose output projection is zero.
    for name in shapes:
        if not name.startswith("encoder."):
            continue
        if name.endswith("_ln.weight") or name.endswith("ln_post.weight"):
            tensors[name] = ones(name)
        elif name.endswith(".bias"):
            tensors[name] = zeros(name)
        elif name == "encoder.positional_embedding":
            tensors[name] = noise(name, 0.5)
        else:
            tensors[name] = noise(name)

    # Decoder: everything that writes into the residual stream is zero except the
    # token embedding, layer 0's MLP and the translate-gate head.
    te = np.zeros((hp.n_vocab, n), dtype=np.float64)
    for t, vec in d.items():
        te[t] = s * vec
    tensors["decoder.positional_embedding"] = zeros("decoder.positional_embedding")
    tensors["decoder.token_embedding.weight"] = te.astype(np.float32)
    tensors["decoder.ln.weight"] = ones("decoder.ln.weight")
    tensors["decoder.ln.bias"] = zeros("decoder.ln.bias")
    for i in range(n_text_layer):
        p = f"decoder.blocks.{i}"
        for name in shapes:
            if not name.startswith(p + "."):
                continue
            if name.endswith("_ln.weight"):
                tensors[name] = ones(name)
            elif name.endswith(".bias") or name.endswith(".out.weight") or name.endswith("mlp.2.weight"):
                tensors[name] = zeros(name)  # nothing reaches the residual stream
            elif i == 0 and (name.startswith(p + ".attn.") or name.endswith("mlp.0.weight")):
                tensors[name] = zeros(name)  # set below
            else:
                tensors[name] = noise(name)  # compute cost only

    p = "decoder.blocks.0"
    w0 = np.zeros(shapes[p + ".mlp.0.weight"], dtype=np.float64)
    b0 = np.zeros(shapes[p + ".mlp.0.bias"], dtype=np.float64)
    w2 = np.zeros(shapes[p + ".mlp.2.weight"], dtype=np.float64)
    rsn = 1.0 / math.sqrt(n)
    h = 0

    def add_unit(read: np.ndarray, bias: float, targets: list[tuple[int, float]]) -> None:
        nonlocal h
        w0[h] = read
        b0[h] = bias
        w2[:, h] = MLP_OUT * s * sum(wt * d[t] for t, wt in targets)
        h += 1

    # One unit per current token: LN(x) = sqrt(n)*d_cur gives pre-activation MLP_PRE.
    for cur, targets in sorted(script.transitions.items()):
        add_unit(MLP_PRE * rsn * d[cur], 0.0, targets)

    if script.notimestamps_translate is None:
        add_unit(MLP_PRE * rsn * d[tok.notimestamps], 0.0, [(script.notimestamps_plain, 1.0)])
    else:
        # The gate head adds FLAG_GAIN*s*d_flag at <|notimestamps|> when <|translate|> is in
        # the prompt. Then LN(x) = sqrt(n)*(d_not + g*d_flag)/sqrt(1+g^2), else sqrt(n)*d_not.
        g = FLAG_GAIN
        # "not and no flag": reads d_not - d_flag -> MLP_PRE without flag, <0 with it.
        add_unit(MLP_PRE * rsn * (d[tok.notimestamps] - d_flag), 0.0, [(script.notimestamps_plain, 1.0)])
        # "not and flag": reads d_not + d_flag, thresholded between 1 (no flag) and
        # (1+g)/sqrt(1+g^2) (flag), scaled so the flag case gives ~MLP_PRE.
        hi, lo = (1 + g) / math.sqrt(1 + g * g), 1.0
        thr = (hi + lo) / 2
        k = MLP_PRE / (hi - thr)
        add_unit(k * rsn * (d[tok.notimestamps] + d_flag), -k * thr, [(script.notimestamps_translate, 1.0)])

        # Gate head (head 0, coordinate 0): query only at <|notimestamps|>, key and value
        # only at <|translate|>; the output projection writes the flag direction.
        # whisper.cpp scales q and k by d_head^-0.25 each.
        d_head = n // n_head
        qk = math.sqrt(GATE_SCORE * math.sqrt(d_head) / n)
        wq = np.zeros((n, n))
        wk = np.zeros((n, n))
        wv = np.zeros((n, n))
        wo = np.zeros((n, n))
        wq[0] = qk * d[tok.notimestamps]
        wk[0] = qk * d[tok.translate]
        wv[0] = d[tok.translate]
        wo[:, 0] = g * s * rsn * d_flag
        tensors[p + ".attn.query.weight"] = wq.astype(np.float32)
        tensors[p + ".attn.key.weight"] = wk.astype(np.float32)
        tensors[p + ".attn.value.weight"] = wv.astype(np.float32)
        tensors[p + ".attn.out.weight"] = wo.astype(np.float32)

    tensors[p + ".mlp.0.weight"] = w0.astype(np.float32)
    tensors[p + ".mlp.0.bias"] = b0.astype(np.float32)
    tensors[p + ".mlp.2.weight"] = w2.astype(np.float32)

    ordered = [(name, tensors[name]) for name, _ in gw.whisper_tensor_shapes(hp)]
    return hp, ordered, script


# ------------------------------------------------------------------ self-check (numpy forward pass)


def _f16(a: np.ndarray) -> np.ndarray:
    return a.astype(np.float32).astype(np.float16).astype(np.float64)


def _as_stored(a: np.ndarray, ttype: int) -> np.ndarray:
    """`a` as whisper.cpp sees it once written as `ttype`."""
    if ttype == gw.GGML_TYPE_F16:
        return _f16(a)
    if ttype == gw.GGML_TYPE_Q8_0:
        return gw.dequantize_q8_0(a)
    return a.astype(np.float64)


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + 1e-5) * w + b


_erf = np.vectorize(math.erf)


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


class DecoderSim:
    """Float64 forward pass of the decoder (f16-rounded weights), ignoring the audio.

    Only for checking the script: the parts it skips (cross-attention, layers > 0) have
    zero output projections, which it asserts.
    """

    def __init__(self, hp: gw.WhisperHParams, tensors: list[tuple[str, np.ndarray]]):
        t = dict(tensors)
        for name, a in t.items():
            if name.startswith("decoder.") and (
                (".cross_attn.out." in name)
                or (not name.startswith("decoder.blocks.0.") and (".out." in name or ".mlp.2." in name))
            ):
                assert not a.any(), f"{name} must be zero"
        assert not t["decoder.positional_embedding"].any()
        self.hp = hp
        self.t = {k: _as_stored(v, gw.whisper_tensor_ttype(k, v.ndim, hp.ftype)) for k, v in t.items() if k.startswith("decoder.")}

    def logits(self, prompt: list[int]) -> np.ndarray:
        t, p = self.t, "decoder.blocks.0."
        n, n_head = self.hp.n_text_state, self.hp.n_text_head
        dh = n // n_head
        x = t["decoder.token_embedding.weight"][prompt]
        a = _layer_norm(x, t[p + "attn_ln.weight"], t[p + "attn_ln.bias"])
        q = (a @ t[p + "attn.query.weight"].T + t[p + "attn.query.bias"]) * dh**-0.25
        k = (a @ t[p + "attn.key.weight"].T) * dh**-0.25
        v = a @ t[p + "attn.value.weight"].T + t[p + "attn.value.bias"]
        att = np.zeros_like(x)
        mask = np.triu(np.full((len(prompt), len(prompt)), -np.inf), 1)
        for hd in range(n_head):
            sl = slice(hd * dh, (hd + 1) * dh)
            sc = q[:, sl] @ k[:, sl].T + mask
            sc = np.exp(sc - sc.max(-1, keepdims=True))
            att[:, sl] = (sc / sc.sum(-1, keepdims=True)) @ v[:, sl]
        x = x + att @ t[p + "attn.out.weight"].T + t[p + "attn.out.bias"]
        m = _layer_norm(x, t[p + "mlp_ln.weight"], t[p + "mlp_ln.bias"])
        hdn = _gelu(m @ t[p + "mlp.0.weight"].T + t[p + "mlp.0.bias"])
        x = x + hdn @ t[p + "mlp.2.weight"].T + t[p + "mlp.2.bias"]
        y = _layer_norm(x[-1], t["decoder.ln.weight"], t["decoder.ln.bias"])
        return t["decoder.token_embedding.weight"] @ y


def check_script(hp: gw.WhisperHParams, tensors: list[tuple[str, np.ndarray]], script: Script, verbose: bool) -> None:
    """Greedy-decode the script with a numpy forward pass and compare with the expectation."""
    sim = DecoderSim(hp, tensors)
    tk = script.tokens
    langs = [tk.lang(i) for i in range(100)]
    suppressed = [tk.notimestamps, tk.sot, tk.nosp, tk.solm, tk.translate, tk.transcribe, tk.prev] + langs
    names = {v: k for k, v in WORD_ID.items()}

    def name(t: int) -> str:
        if t in names:
            return repr(" " + names[t])
        if t >= tk.beg:
            return f"<|{(t - tk.beg) * 0.02:.2f}|>"
        inv_lang = {tk.lang(i): f"<|{code}|>" for code, i in LANG_INDEX.items()}
        return {tk.eot: "EOT", tk.sot: "SOT", **inv_lang}.get(t, f"[{t}]")

    # Language detection: softmax over the language tokens after [SOT].
    lg = sim.logits([tk.sot])[langs]
    p = np.exp(lg - lg.max())
    p /= p.sum()
    assert langs[int(np.argmax(lg))] == script.lang_token and p.max() > 0.999, "language detection"
    if verbose:
        print(f"  lang detect: {name(script.lang_token)} token {script.lang_token} p={p.max():.6f}", file=sys.stderr)

    prefix = [tk.sot, tk.lang(LANG_INDEX["de"])] if script.multilingual else [tk.sot]
    cases = []
    for task, key in [(tk.transcribe, "transcribe"), (tk.translate, "translate")]:
        if key not in script.expected:
            continue
        base = prefix + ([task] if script.multilingual else [])
        cases.append((key, base, False))
        cases.append((key + "_nots", base + [tk.notimestamps], True))
        # An initial prompt / previous-window context must not change anything.
        ctx = [tk.prev, 72, 105, WORD_ID["hallo"], tk.beg, WORD_ID["world"]]
        cases.append((key + "_nots", ctx + base + [tk.notimestamps], True))
    for key, prompt, no_ts in cases:
        seq: list[int] = []
        margins = []
        while len(seq) < 8 and (not seq or seq[-1] != tk.eot):
            lg = sim.logits(prompt + seq).copy()
            lg[suppressed] = -np.inf
            if no_ts:
                lg[tk.beg :] = -np.inf
            top2 = np.sort(lg)[-2:]
            margins.append(top2[1] - top2[0])
            seq.append(int(np.argmax(lg)))
        ok = seq == script.expected[key]
        if verbose:
            print(f"  {key:16s} {'ok ' if ok else 'BAD'} {' '.join(name(x) for x in seq)}  min margin {min(margins):.1f}", file=sys.stderr)
        assert ok, f"{key}: got {seq}, expected {script.expected[key]}"
        assert min(margins) > 10.0, f"{key}: logit margin only {min(margins):.1f}"


# ------------------------------------------------------------------ Silero VAD ("energy" mode)


def build_vad_energy() -> dict[str, np.ndarray]:
    """A Silero-shaped VAD model whose probability follows the signal level.

    STFT basis: the 256 Walsh-Hadamard rows (+-1/16, so the frame's norm is preserved) as
    128 (real, imaginary) pairs; the 129th "frequency" is zero. Encoder: channel 0
    sums the magnitudes of every frame and tap; the LSTM cell just squashes
    VAD_GAIN*(channel0 - VAD_LEVEL) with saturated gates and no memory; the head computes
    p = sigmoid(20*mean(relu(h)) - 5): p(silence) = sigmoid(-5) ~ 0.007, p(loud) ~ 1.
    """
    shapes = {name: shape for name, shape, _ in gw.silero_vad_tensor_shapes()}
    t = {name: np.zeros(shape, dtype=np.float32) for name, shape in shapes.items()}

    # Rows of the 256-point Sylvester Hadamard matrix, scaled to unit norm.
    m = 256
    had = np.zeros((m, m))
    had[0] = 1.0 / 16
    had[1:] = hadamard_directions(m, m - 1)
    basis = np.zeros((258, 1, 256))
    basis[:128, 0] = had[:128]  # "real" parts 0..127 (129 used, last one zero)
    basis[129 : 129 + 128, 0] = had[128:]  # "imaginary" parts 0..127
    t["_model.stft.forward_basis_buffer"] = basis.astype(np.float32)

    # Encoder layer 0: out channel 0 = sum of all magnitudes over the 3 taps.
    w = np.zeros(shapes["_model.encoder.0.reparam_conv.weight"])
    w[0, :, :] = 1.0 / 64
    t["_model.encoder.0.reparam_conv.weight"] = w.astype(np.float32)
    # Layers 1-3 pass channel 0 on (sum over taps; relu keeps it >= 0).
    for i in (1, 2, 3):
        name = f"_model.encoder.{i}.reparam_conv.weight"
        w = np.zeros(shapes[name])
        w[0, 0, :] = 1.0
        t[name] = w.astype(np.float32)

    # LSTM gates (i, f, g, o) of 128 units each. i and o open, f closed -> h = tanh(tanh(g)).
    hid = 128
    w_ih = np.zeros((4 * hid, 128))
    b_ih = np.zeros(4 * hid)
    b_ih[0:hid] = 20.0  # input gate open
    b_ih[hid : 2 * hid] = -20.0  # forget gate closed: no memory
    w_ih[2 * hid : 3 * hid, 0] = VAD_GAIN  # cell input follows the level ...
    b_ih[2 * hid : 3 * hid] = -VAD_GAIN * VAD_LEVEL  # ... around VAD_LEVEL
    b_ih[3 * hid : 4 * hid] = 20.0  # output gate open
    t["_model.decoder.rnn.weight_ih"] = w_ih.astype(np.float32)
    t["_model.decoder.rnn.bias_ih"] = b_ih.astype(np.float32)

    t["_model.decoder.decoder.2.weight"] = np.full((1, 128), 20.0 / 128, dtype=np.float32)
    t["_model.decoder.decoder.2.bias"] = np.array([-5.0], dtype=np.float32)
    return t


# Encoder channel 0 ("level") is (sum over frames and taps of the Walsh magnitudes)/64,
# about 10x the peak amplitude of a sine (19x for uniform noise); see vad_level_of().
# p crosses 0.5 at VAD_HALF_LEVEL (a sine of amplitude ~0.02, about -34 dBFS) and goes
# from p~0.007 to p~0.99 within about +-0.015 of it.
VAD_HALF_LEVEL = 0.2
VAD_GAIN = 20.0
# tanh(tanh(x)) = 0.25 <=> 20*h - 5 = 0 <=> p = 0.5
VAD_LEVEL = VAD_HALF_LEVEL - 0.2586 / VAD_GAIN


def vad_level_of(window: np.ndarray, tensors: dict[str, np.ndarray]) -> float:
    """Numpy version of the VAD graph up to encoder channel 0 (for calibration/--check)."""
    padded = np.concatenate([window[1:65][::-1], window, window[-65:-1][::-1]])
    basis = tensors["_model.stft.forward_basis_buffer"][:, 0, :].astype(np.float64)
    frames = np.stack([padded[i * 128 : i * 128 + 256] for i in range(4)], axis=1)  # (256, 4)
    spec = basis @ frames
    mag = np.sqrt(spec[:129] ** 2 + spec[129:] ** 2)  # (129, 4)

    def conv(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int) -> np.ndarray:
        xp = np.pad(x, ((0, 0), (1, 1)))
        n_out = (xp.shape[1] - 3) // stride + 1
        out = np.stack([np.einsum("oik,ik->o", w, xp[:, j * stride : j * stride + 3]) for j in range(n_out)], axis=1)
        return np.maximum(out + b[:, None], 0)

    x = mag
    for i, stride in enumerate((1, 2, 2, 1)):
        x = conv(x, tensors[f"_model.encoder.{i}.reparam_conv.weight"].astype(np.float64), tensors[f"_model.encoder.{i}.reparam_conv.bias"], stride)
    return float(x[0, 0])


def vad_prob_of_level(level: float) -> float:
    g = math.tanh(VAD_GAIN * (level - VAD_LEVEL))
    h = max(0.0, math.tanh(g))
    return 1 / (1 + math.exp(-(20 * h - 5)))


def check_vad(tensors: dict[str, np.ndarray], verbose: bool) -> None:
    sr = 16000
    i = np.arange(512)
    cases = {
        "silence": np.zeros(512),
        "tone 440 Hz a=0.5": 0.5 * np.sin(2 * np.pi * 440 * i / sr),
        "tone 440 Hz a=0.05": 0.05 * np.sin(2 * np.pi * 440 * i / sr),
        "tone 440 Hz a=0.02": 0.02 * np.sin(2 * np.pi * 440 * i / sr),
        "tone 440 Hz a=0.01": 0.01 * np.sin(2 * np.pi * 440 * i / sr),
        "noise a=0.5": 0.5 * splitmix64_uniform("vad-check", 512),
        "noise a=0.01": 0.01 * splitmix64_uniform("vad-check", 512),
        "noise a=0.001": 0.001 * splitmix64_uniform("vad-check", 512),
    }
    probs = {}
    for name, x in cases.items():
        level = vad_level_of(x, tensors)
        probs[name] = vad_prob_of_level(level)
        if verbose:
            print(f"  vad {name:20s} level={level:8.4f} p={probs[name]:.4f}", file=sys.stderr)
    assert probs["silence"] < 0.01 and probs["tone 440 Hz a=0.5"] > 0.99 and probs["noise a=0.5"] > 0.99


# ------------------------------------------------------------------ CLI

MODELS = {
    "scripted": dict(multilingual=True),
    "scripted-en": dict(multilingual=False),
}


def output_name(model: str, preset: str, q8_0: bool = False) -> str:
    name = model if preset == "mini" else f"{model}-{preset}"
    return f"{name}-q8_0.bin" if q8_0 else f"{name}.bin"


def write_atomically(path: str, write) -> None:
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        write(f)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description="Write deterministic synthetic whisper.cpp models (scripted bigram decoder) "
        "and optionally a synthetic Silero VAD model.",
        epilog="Default (mini): scripted.bin (multilingual: ' hallo welt' / translate ' hello world') and "
        "scripted-en.bin (English-only: ' hello there'). --preset tiny|base writes scripted-tiny.bin / "
        "scripted-base.bin with the real model dimensions, for benchmarks.",
    )
    ap.add_argument("out_dir", help="directory to write into (created if missing)")
    ap.add_argument("--preset", choices=sorted(PRESETS), default="mini", help="model dimensions (default: mini)")
    ap.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help="write only this model: scripted, scripted-en or vad-energy (repeatable; '.bin' and a '-PRESET' suffix are accepted)",
    )
    ap.add_argument(
        "--q8_0",
        action="store_true",
        help="store the 2-D weight matrices as q8_0 (like whisper.cpp's quantize tool) and add -q8_0 to the file name",
    )
    ap.add_argument("--vad", action="store_true", help="also write vad-energy.bin (synthetic Silero VAD, energy mode)")
    ap.add_argument("--check", action="store_true", help="print the numpy self-check of each model to stderr")
    args = ap.parse_args(argv)

    wanted = ["scripted", "scripted-en"] if args.preset == "mini" else ["scripted"]
    if args.vad:
        wanted.append("vad-energy")
    if args.only:
        wanted = []
        for raw in args.only:
            name = raw.removesuffix(".bin").removesuffix("-q8_0").removesuffix(f"-{args.preset}")
            if name not in MODELS and name != "vad-energy":
                ap.error(f"unknown model {raw!r} (choose from scripted, scripted-en, vad-energy)")
            if name not in wanted:
                wanted.append(name)

    os.makedirs(args.out_dir, exist_ok=True)
    for name in wanted:
        t0 = time.perf_counter()
        if name == "vad-energy":
            fname = "vad-energy.bin"
            vad = build_vad_energy()
            check_vad(vad, args.check)
            path = os.path.join(args.out_dir, fname)
            write_atomically(path, lambda f: gw.write_silero_vad_model(f, vad))
        else:
            fname = output_name(name, args.preset, args.q8_0)
            ftype = gw.FTYPE_MOSTLY_Q8_0 + gw.GGML_QNT_VERSION * gw.GGML_QNT_VERSION_FACTOR if args.q8_0 else gw.FTYPE_MOSTLY_F16
            hp, tensors, script = build_scripted_whisper(args.preset, **MODELS[name], ftype=ftype)
            if args.check:
                print(f"{fname}: self-check", file=sys.stderr)
            check_script(hp, tensors, script, args.check)
            filters = gw.slaney_mel_filters(hp.n_mels)
            path = os.path.join(args.out_dir, fname)
            write_atomically(path, lambda f: gw.write_whisper_model(f, hp, filters, VOCAB, tensors))
        size = os.path.getsize(path)
        digest = gw.sha256_of_file(path)
        if args.check:
            print(f"  {fname}: {time.perf_counter() - t0:.2f} s", file=sys.stderr)
        print(f"{fname} {size} {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
