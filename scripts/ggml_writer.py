"""Writers for whisper.cpp's legacy "ggml" model files (whisper and Silero VAD).

The container (whisper.cpp 1.8.3, `whisper_model_load`) is little-endian with no
alignment or padding:

    u32 magic "ggml" | 11 x i32 hparams | i32 n_mel, i32 n_fft, f32 filters[n_mel*n_fft]
    | i32 n_tokens, n_tokens x (u32 len, bytes) | tensor records until EOF

and each tensor record is

    i32 n_dims, i32 name_len, i32 ttype, i32 ne[n_dims] (numpy shape reversed),
    name bytes, data (numpy row-major, f32 or f16, or q8_0 blocks of an f16 scale + 32 int8).

Everything here is byte-for-byte deterministic: explicit little-endian dtypes,
fixed record order, and only exact IEEE arithmetic on the data (the mel points use
`decimal`, whose exp/ln are correctly rounded on every platform).

Used by make_test_models.py; meant to be reused for converting real checkpoints.
"""

from __future__ import annotations

import dataclasses
import decimal
import hashlib
import struct
from typing import BinaryIO, Iterable, Sequence

import numpy as np

GGML_FILE_MAGIC = 0x67676D6C  # "ggml"

GGML_TYPE_F32 = 0
GGML_TYPE_F16 = 1
GGML_TYPE_Q8_0 = 8

FTYPE_ALL_F32 = 0
FTYPE_MOSTLY_F16 = 1
FTYPE_MOSTLY_Q8_0 = 7
# whisper.cpp's quantize tool writes ftype + GGML_QNT_VERSION (2) * 1000; the loader takes % 1000.
GGML_QNT_VERSION_FACTOR = 1000
GGML_QNT_VERSION = 2
QK8_0 = 32

WHISPER_SAMPLE_RATE = 16000
WHISPER_N_FFT = 400

_DTYPE_OF_TTYPE = {GGML_TYPE_F32: np.dtype("<f4"), GGML_TYPE_F16: np.dtype("<f2")}


@dataclasses.dataclass(frozen=True)
class WhisperHParams:
    """The 11 header integers, in file order."""

    n_vocab: int
    n_audio_ctx: int
    n_audio_state: int
    n_audio_head: int
    n_audio_layer: int
    n_text_ctx: int
    n_text_state: int
    n_text_head: int
    n_text_layer: int
    n_mels: int
    ftype: int

    def pack(self) -> bytes:
        return struct.pack("<11i", *dataclasses.astuple(self))

    @property
    def is_multilingual(self) -> bool:
        return self.n_vocab >= 51865


@dataclasses.dataclass(frozen=True)
class WhisperSpecialTokens:
    """Special token ids exactly as whisper.cpp derives them from n_vocab."""

    eot: int
    sot: int
    translate: int
    transcribe: int
    solm: int
    prev: int
    nosp: int
    notimestamps: int
    beg: int
    num_languages: int

    @classmethod
    def for_vocab(cls, n_vocab: int) -> "WhisperSpecialTokens":
        multilingual = n_vocab >= 51865
        num_languages = n_vocab - 51765 - (1 if multilingual else 0)
        # English-only ids; multilingual files shift eot/sot by one and the rest
        # by (num_languages - 98), like whisper_model_load does.
        eot, sot = 50256, 50257
        rest = [50357, 50358, 50359, 50360, 50361, 50362, 50363]
        if multilingual:
            eot, sot = eot + 1, sot + 1
            rest = [t + num_languages - 98 for t in rest]
        return cls(eot, sot, *rest, num_languages=num_languages)

    def lang(self, lang_index: int) -> int:
        """Token of the language with whisper.cpp's g_lang index (en 0, zh 1, de 2, ...)."""
        return self.sot + 1 + lang_index

    def timestamp(self, seconds: float) -> int:
        """Token <|seconds|> (20 ms steps)."""
        return self.beg + round(seconds * 50)


def whisper_tensor_shapes(hp: WhisperHParams) -> list[tuple[str, tuple[int, ...]]]:
    """All tensors whisper.cpp expects, as (name, numpy/PyTorch shape), in a fixed order."""
    ns, nt = hp.n_audio_state, hp.n_text_state
    shapes: list[tuple[str, tuple[int, ...]]] = [
        ("encoder.positional_embedding", (hp.n_audio_ctx, ns)),
        ("encoder.conv1.weight", (ns, hp.n_mels, 3)),
        ("encoder.conv1.bias", (ns, 1)),
        ("encoder.conv2.weight", (ns, ns, 3)),
        ("encoder.conv2.bias", (ns, 1)),
    ]

    def block(prefix: str, n: int, cross: bool) -> list[tuple[str, tuple[int, ...]]]:
        out = []
        attns = ["attn", "cross_attn"] if cross else ["attn"]
        for a in attns:
            out += [
                (f"{prefix}.{a}_ln.weight", (n,)),
                (f"{prefix}.{a}_ln.bias", (n,)),
                (f"{prefix}.{a}.query.weight", (n, n)),
                (f"{prefix}.{a}.query.bias", (n,)),
                (f"{prefix}.{a}.key.weight", (n, n)),
                (f"{prefix}.{a}.value.weight", (n, n)),
                (f"{prefix}.{a}.value.bias", (n,)),
                (f"{prefix}.{a}.out.weight", (n, n)),
                (f"{prefix}.{a}.out.bias", (n,)),
            ]
        out += [
            (f"{prefix}.mlp_ln.weight", (n,)),
            (f"{prefix}.mlp_ln.bias", (n,)),
            (f"{prefix}.mlp.0.weight", (4 * n, n)),
            (f"{prefix}.mlp.0.bias", (4 * n,)),
            (f"{prefix}.mlp.2.weight", (n, 4 * n)),
            (f"{prefix}.mlp.2.bias", (n,)),
        ]
        return out

    for i in range(hp.n_audio_layer):
        shapes += block(f"encoder.blocks.{i}", ns, cross=False)
    shapes += [("encoder.ln_post.weight", (ns,)), ("encoder.ln_post.bias", (ns,))]
    shapes += [
        ("decoder.positional_embedding", (hp.n_text_ctx, nt)),
        ("decoder.token_embedding.weight", (hp.n_vocab, nt)),
    ]
    for i in range(hp.n_text_layer):
        shapes += block(f"decoder.blocks.{i}", nt, cross=True)
    shapes += [("decoder.ln.weight", (nt,)), ("decoder.ln.bias", (nt,))]
    return shapes


def whisper_tensor_ttype(name: str, ndim: int, ftype: int) -> int:
    """The ggml type whisper.cpp expects for a tensor (its loader checks the byte size).

    F32: every 1-D tensor, both positional embeddings and the (n,1) conv biases.
    Otherwise F16 for ftype 1 (conv weights too), F32 for ftype 0.
    For ftype 7 (q8_0, as whisper.cpp's quantize tool makes it: only 2-D matrices are
    quantized) the 2-D weights are Q8_0 and the 3-D conv weights stay F16.
    """
    ftype %= GGML_QNT_VERSION_FACTOR
    if ftype == FTYPE_ALL_F32:
        return GGML_TYPE_F32
    if ftype not in (FTYPE_MOSTLY_F16, FTYPE_MOSTLY_Q8_0):
        raise ValueError(f"only ftype 0 (f32), 1 (f16) and 7 (q8_0) are supported, got {ftype}")
    conv_bias = name.startswith("encoder.conv") and name.endswith(".bias")
    if ndim == 1 or name.endswith("positional_embedding") or conv_bias:
        return GGML_TYPE_F32
    if ftype == FTYPE_MOSTLY_Q8_0 and ndim == 2:
        return GGML_TYPE_Q8_0
    return GGML_TYPE_F16


def quantize_q8_0(array: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ggml's `quantize_row_q8_0_ref` over rows: per block of 32, d = amax/127 (stored f16),
    q = roundf(x / d) (half away from zero). Returns (d as <f2 [blocks], q as int8 [blocks, 32])."""
    x = np.ascontiguousarray(array, dtype=np.float32).reshape(-1, QK8_0)
    amax = np.abs(x).max(axis=1)
    d = (amax / np.float32(127)).astype(np.float32)
    inv = np.divide(np.float32(1), d, out=np.zeros_like(d), where=d != 0).astype(np.float32)
    scaled = (x * inv[:, None]).astype(np.float32)
    q = (np.sign(scaled) * np.floor(np.abs(scaled) + np.float32(0.5))).astype(np.int8)
    return d.astype("<f2"), q


def dequantize_q8_0(array: np.ndarray) -> np.ndarray:
    """What whisper.cpp computes with after `quantize_q8_0` (float64, same shape)."""
    d, q = quantize_q8_0(array)
    return (d.astype(np.float64)[:, None] * q.astype(np.float64)).reshape(array.shape)


def to_ggml_data(array: np.ndarray, ttype: int) -> bytes:
    """Little-endian bytes of `array` as f32/f16.

    f64 input goes through f32 first, so the f16 rounding never depends on which
    double->half path a numpy build or CPU uses (f32->f16 is RNE everywhere).
    """
    a = np.ascontiguousarray(array)
    if a.dtype != np.float32:
        a = a.astype(np.float32)
    if ttype == GGML_TYPE_Q8_0:
        if a.shape[-1] % QK8_0:
            raise ValueError(f"q8_0 rows must be a multiple of {QK8_0}, got {a.shape[-1]}")
        d, q = quantize_q8_0(a)
        blocks = np.empty(len(d), dtype=[("d", "<f2"), ("qs", "i1", (QK8_0,))])
        blocks["d"], blocks["qs"] = d, q
        return blocks.tobytes()
    return a.astype(_DTYPE_OF_TTYPE[ttype], copy=False).tobytes(order="C")


def tensor_record(name: str, array: np.ndarray, ttype: int) -> bytes:
    """Header + data of one tensor record (ne = numpy shape reversed)."""
    name_b = name.encode("ascii")
    ne = tuple(reversed(array.shape))
    header = struct.pack(f"<3i{len(ne)}i", len(ne), len(name_b), ttype, *ne)
    return header + name_b + to_ggml_data(array, ttype)


def pack_mel_filters(filters: np.ndarray) -> bytes:
    n_mel, n_fft = filters.shape
    return struct.pack("<2i", n_mel, n_fft) + np.ascontiguousarray(filters, dtype="<f4").tobytes()


def pack_vocab(tokens: Sequence[bytes]) -> bytes:
    parts = [struct.pack("<i", len(tokens))]
    for tok in tokens:
        parts.append(struct.pack("<I", len(tok)))
        parts.append(bytes(tok))
    return b"".join(parts)


def write_whisper_model(
    out: BinaryIO,
    hp: WhisperHParams,
    mel_filters: np.ndarray,
    vocab: Sequence[bytes],
    tensors: Iterable[tuple[str, np.ndarray]],
) -> None:
    """Write a complete whisper ggml file.

    `tensors` yields (name, array) in the order to write; every name/shape is checked
    against `whisper_tensor_shapes(hp)` and all of them must be present exactly once,
    because whisper.cpp rejects partial files (and accepts an empty tensor list as a
    "test model" with uninitialised weights).
    """
    if mel_filters.shape != (hp.n_mels, 1 + WHISPER_N_FFT // 2):
        raise ValueError(f"mel filters must be {hp.n_mels}x201, got {mel_filters.shape}")
    if len(vocab) > hp.n_vocab:
        raise ValueError("more vocab entries than n_vocab")
    if b" " not in vocab:
        # whisper.cpp's suppress_blank does token_to_id.at(" ") -> abort without it.
        raise ValueError('the vocab must contain the token " "')
    expected = dict(whisper_tensor_shapes(hp))
    out.write(struct.pack("<I", GGML_FILE_MAGIC))
    out.write(hp.pack())
    out.write(pack_mel_filters(mel_filters))
    out.write(pack_vocab(vocab))
    seen = set()
    for name, array in tensors:
        if name not in expected:
            raise ValueError(f"unknown tensor {name}")
        if name in seen:
            raise ValueError(f"duplicate tensor {name}")
        if tuple(array.shape) != expected[name]:
            raise ValueError(f"{name}: shape {array.shape}, expected {expected[name]}")
        seen.add(name)
        out.write(tensor_record(name, array, whisper_tensor_ttype(name, array.ndim, hp.ftype)))
    missing = set(expected) - seen
    if missing:
        raise ValueError(f"missing tensors: {sorted(missing)[:5]} ...")


# ---------------------------------------------------------------- Silero VAD

SILERO_ENCODER_LAYERS = ((129, 128, 3), (128, 64, 3), (64, 64, 3), (64, 128, 3))


def silero_vad_tensor_shapes() -> list[tuple[str, tuple[int, ...], int]]:
    """(name, numpy shape, ggml type) of every tensor whisper.cpp's VAD loader expects."""
    shapes = [("_model.stft.forward_basis_buffer", (258, 1, 256), GGML_TYPE_F16)]
    for i, (cin, cout, k) in enumerate(SILERO_ENCODER_LAYERS):
        shapes.append((f"_model.encoder.{i}.reparam_conv.weight", (cout, cin, k), GGML_TYPE_F16))
        shapes.append((f"_model.encoder.{i}.reparam_conv.bias", (cout,), GGML_TYPE_F32))
    shapes += [
        ("_model.decoder.rnn.weight_ih", (512, 128), GGML_TYPE_F32),
        ("_model.decoder.rnn.weight_hh", (512, 128), GGML_TYPE_F32),
        ("_model.decoder.rnn.bias_ih", (512,), GGML_TYPE_F32),
        ("_model.decoder.rnn.bias_hh", (512,), GGML_TYPE_F32),
        ("_model.decoder.decoder.2.weight", (1, 128), GGML_TYPE_F16),
        ("_model.decoder.decoder.2.bias", (1,), GGML_TYPE_F32),
    ]
    return shapes


def write_silero_vad_model(
    out: BinaryIO,
    tensors: dict[str, np.ndarray],
    model_type: str = "silero-16k",
    version: tuple[int, int, int] = (5, 1, 2),
    n_window: int = 512,
    n_context: int = 64,
) -> None:
    """Write a Silero VAD model in whisper.cpp's format (`whisper_vad_init_with_params`)."""
    mt = model_type.encode("ascii")
    out.write(struct.pack("<I", GGML_FILE_MAGIC))
    out.write(struct.pack("<i", len(mt)) + mt)
    out.write(struct.pack("<3i", *version))
    out.write(struct.pack("<2i", n_window, n_context))
    out.write(struct.pack("<i", len(SILERO_ENCODER_LAYERS)))
    for layer in SILERO_ENCODER_LAYERS:
        out.write(struct.pack("<3i", *layer))
    # lstm_input_size, lstm_hidden_size, final_conv_in, final_conv_out
    out.write(struct.pack("<4i", 128, 128, 128, 1))
    for name, shape, ttype in silero_vad_tensor_shapes():
        array = tensors[name]
        if tuple(array.shape) != shape:
            raise ValueError(f"{name}: shape {array.shape}, expected {shape}")
        out.write(tensor_record(name, array, ttype))
    if set(tensors) - {n for n, _, _ in silero_vad_tensor_shapes()}:
        raise ValueError("unknown VAD tensors")


# ---------------------------------------------------------------- mel filters


def _slaney_mel_points_hz(n_points: int, f_max: float) -> np.ndarray:
    """`librosa.mel_frequencies(n_points, fmin=0, fmax=f_max, htk=False)`, via `decimal`.

    Slaney scale: linear (200/3 Hz per mel) below 1 kHz, logarithmic above. decimal's
    exp/ln are correctly rounded, so the result is the same on every machine.
    """
    ctx = decimal.Context(prec=50)
    d = ctx.create_decimal
    f_sp = ctx.divide(d(200), d(3))
    min_log_hz = d(1000)
    min_log_mel = ctx.divide(min_log_hz, f_sp)
    logstep = ctx.divide(d("6.4").ln(ctx), d(27))

    def hz_to_mel(f: decimal.Decimal) -> decimal.Decimal:
        if f >= min_log_hz:
            return ctx.add(min_log_mel, ctx.divide(ctx.divide(f, min_log_hz).ln(ctx), logstep))
        return ctx.divide(f, f_sp)

    def mel_to_hz(m: decimal.Decimal) -> decimal.Decimal:
        if m >= min_log_mel:
            return ctx.multiply(min_log_hz, ctx.multiply(logstep, ctx.subtract(m, min_log_mel)).exp(ctx))
        return ctx.multiply(f_sp, m)

    mel_max = hz_to_mel(d(repr(f_max)))
    pts = [mel_to_hz(ctx.divide(ctx.multiply(mel_max, d(i)), d(n_points - 1))) for i in range(n_points)]
    return np.array([float(p) for p in pts], dtype=np.float64)


def slaney_mel_filters(n_mels: int = 80, n_fft: int = WHISPER_N_FFT, sample_rate: int = WHISPER_SAMPLE_RATE) -> np.ndarray:
    """`librosa.filters.mel(sr, n_fft, n_mels)` (Slaney scale and norm) as float32 (n_mels, 1+n_fft/2).

    This is what OpenAI's mel_filters.npz holds; whisper.cpp reads it from the file.
    Follows librosa's own float32/float64 steps.
    """
    n_bins = 1 + n_fft // 2
    fft_freqs = np.arange(n_bins, dtype=np.float64) * (sample_rate / n_fft)
    mel_f = _slaney_mel_points_hz(n_mels + 2, sample_rate / 2.0)
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fft_freqs)
    weights = np.zeros((n_mels, n_bins), dtype=np.float32)
    for i in range(n_mels):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        weights[i] = np.maximum(0, np.minimum(lower, upper))
    enorm = 2.0 / (mel_f[2 : n_mels + 2] - mel_f[:n_mels])
    weights *= enorm[:, np.newaxis]
    return weights


def sha256_of_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
