"""Reader for whisper.cpp's legacy "ggml" whisper model files (the inverse of ggml_writer.py).

Layout (little-endian, no padding), see ggml_writer.py:

    u32 magic "ggml" | 11 x i32 hparams | i32 n_mel, i32 n_fft, f32 filters[n_mel*n_fft]
    | i32 n_tokens, n_tokens x (u32 len, bytes) | tensor records until EOF

tensor record: i32 n_dims, i32 name_len, i32 ttype, i32 ne[n_dims], name, data.
Only f32 (ttype 0) and f16 (ttype 1) tensors are supported (no quantized files).
Arrays come back in numpy/PyTorch shape order (ne reversed), as views on a memory map.
"""

from __future__ import annotations

import dataclasses
import mmap
import struct

import numpy as np

from ggml_writer import GGML_FILE_MAGIC, WhisperHParams, WhisperSpecialTokens

_DTYPES = {0: np.dtype("<f4"), 1: np.dtype("<f2")}


@dataclasses.dataclass
class GgmlWhisperModel:
    hparams: WhisperHParams
    mel_filters: np.ndarray  # (n_mel, 201) float32
    vocab: list[bytes]  # the entries stored in the file (may be fewer than n_vocab)
    tensors: dict[str, np.ndarray]  # name -> array (float16 or float32), file order

    @property
    def special_tokens(self) -> WhisperSpecialTokens:
        return WhisperSpecialTokens.for_vocab(self.hparams.n_vocab)


def read_whisper_model(path: str) -> GgmlWhisperModel:
    with open(path, "rb") as f:
        buf = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    pos = 0

    def take(fmt: str) -> tuple:
        nonlocal pos
        vals = struct.unpack_from(fmt, buf, pos)
        pos += struct.calcsize(fmt)
        return vals

    (magic,) = take("<I")
    if magic != GGML_FILE_MAGIC:
        raise ValueError(f"{path}: not a ggml file (magic {magic:#x})")
    hp = WhisperHParams(*take("<11i"))
    n_mel, n_fft = take("<2i")
    filters = np.frombuffer(buf, dtype="<f4", count=n_mel * n_fft, offset=pos).reshape(n_mel, n_fft)
    pos += 4 * n_mel * n_fft
    (n_tokens,) = take("<i")
    vocab = []
    for _ in range(n_tokens):
        (length,) = take("<I")
        vocab.append(bytes(buf[pos : pos + length]))
        pos += length
    tensors: dict[str, np.ndarray] = {}
    while pos < len(buf):
        n_dims, name_len, ttype = take("<3i")
        ne = take(f"<{n_dims}i")
        name = bytes(buf[pos : pos + name_len]).decode("ascii")
        pos += name_len
        if ttype not in _DTYPES:
            raise ValueError(f"{name}: ggml type {ttype} not supported (only f32/f16)")
        dtype = _DTYPES[ttype]
        count = int(np.prod(ne))
        shape = tuple(reversed(ne))
        tensors[name] = np.frombuffer(buf, dtype=dtype, count=count, offset=pos).reshape(shape)
        pos += count * dtype.itemsize
    return GgmlWhisperModel(hp, np.array(filters), vocab, tensors)
