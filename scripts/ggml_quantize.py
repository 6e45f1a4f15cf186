#!/usr/bin/env python3
"""Re-write a whisper.cpp ggml model (f32/f16) with q8_0 weight matrices, numpy only.

    scripts/ggml_quantize.py IN.bin OUT.bin [--type q8_0]

For an existing file (a real checkpoint already in ggml f16/f32); the scripted bench models
come quantized straight from `make_test_models.py --q8_0`. Same rules and rounding as
ggml_writer.py (its quantize_q8_0); quantizing the f16 file gives slightly different bytes
than `--q8_0`, which quantizes the generator's f32 values. The int8 counterpart of faster-whisper's
`compute_type="int8"` on the same weights:
whisper.cpp quantizes exactly the matrices its loader creates with the model's weight
type (attention q/k/v/out and MLP matrices of every block, cross-attention, the token
embedding); conv kernels stay f16, everything 1-D and the positional embeddings f32,
as in whisper.cpp's own `quantize` tool. Header ftype = 7 (GGML_FTYPE_MOSTLY_Q8_0) +
1000 * GGML_QNT_VERSION (2).

q8_0 block (ggml-common.h `block_q8_0`): 32 consecutive values of a row -> f16 scale
d = max|x| / 127, then 32 int8 round(x / d); 34 bytes.
"""

from __future__ import annotations

import argparse
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ggml_reader  # noqa: E402
import ggml_writer as gw  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--type", choices=["q8_0"], default="q8_0")
    args = ap.parse_args(argv)

    m = ggml_reader.read_whisper_model(args.input)
    hp = m.hparams
    if hp.ftype not in (gw.FTYPE_ALL_F32, gw.FTYPE_MOSTLY_F16):
        raise SystemExit(f"{args.input}: already quantized (ftype {hp.ftype})")
    header = list(struct.unpack("<11i", hp.pack()))
    header[-1] = gw.FTYPE_MOSTLY_Q8_0 + gw.GGML_QNT_VERSION * gw.GGML_QNT_VERSION_FACTOR
    tmp = args.output + ".tmp"
    n_q = 0
    with open(tmp, "wb") as f:
        f.write(struct.pack("<I", gw.GGML_FILE_MAGIC))
        f.write(struct.pack("<11i", *header))
        f.write(gw.pack_mel_filters(m.mel_filters))
        f.write(gw.pack_vocab(m.vocab))
        for name, a in m.tensors.items():
            name_b = name.encode("ascii")
            ne = tuple(reversed(a.shape))
            # 2-D matrices q8_0, conv kernels f16, the rest f32 (ggml_writer's rules).
            ttype = gw.whisper_tensor_ttype(name, a.ndim, gw.FTYPE_MOSTLY_Q8_0)
            data = gw.to_ggml_data(a, ttype)
            n_q += ttype == gw.GGML_TYPE_Q8_0
            f.write(struct.pack(f"<3i{len(ne)}i", len(ne), len(name_b), ttype, *ne))
            f.write(name_b)
            f.write(data)
    os.replace(tmp, args.output)
    print(f"{args.output} {os.path.getsize(args.output)} ({n_q} tensors q8_0)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
