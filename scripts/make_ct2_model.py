#!/usr/bin/env python3
"""Convert a whisper.cpp ggml model file into a CTranslate2 model for faster-whisper.

    scripts/make_ct2_model.py GGML_FILE OUT_DIR [--quantization int8|float32|float16|...]

No torch, no transformers, no network: the tensors are read with ggml_reader.py, put into
`ctranslate2.specs.WhisperSpec` as numpy arrays following ctranslate2's own HF converter
(`ctranslate2/converters/transformers.py`, WhisperLoader/BartLoader), and OUT_DIR gets

* model.bin, config.json, vocabulary.json   (ctranslate2's `spec.save`)
* tokenizer.json                            (built offline with `tokenizers`; faster-whisper
                                             would otherwise download openai/whisper-tiny's)
* preprocessor_config.json                  (80 mels, n_fft 400, hop 160, 30 s chunks)

Name mapping (whisper.cpp keeps OpenAI's names; HF name in brackets):

    encoder.conv{1,2}.weight/bias (bias (n,1) -> (n,))  -> encoder.conv{1,2}       [encoder.conv{1,2}]
    encoder.positional_embedding                       -> encoder.position_encodings [embed_positions]
    {enc,dec}.blocks.i.attn.{query,key,value}          -> layer[i].self_attention.linear[0]
        (fused q|k|v rows; `key` has no bias, so its bias part is zeros, like HF's k_proj)
    {enc,dec}.blocks.i.attn.out                        -> layer[i].self_attention.linear[1]
    {enc,dec}.blocks.i.attn_ln                         -> layer[i].self_attention.layer_norm
    decoder.blocks.i.cross_attn.query                  -> layer[i].attention.linear[0]
    decoder.blocks.i.cross_attn.{key,value}            -> layer[i].attention.linear[1] (fused k|v)
    decoder.blocks.i.cross_attn.out                    -> layer[i].attention.linear[2]
    decoder.blocks.i.cross_attn_ln                     -> layer[i].attention.layer_norm
    {enc,dec}.blocks.i.mlp.0 / mlp.2 / mlp_ln          -> layer[i].ffn.linear_0 / linear_1 / layer_norm
    encoder.ln_post                                    -> encoder.layer_norm
    decoder.ln                                         -> decoder.layer_norm
    decoder.positional_embedding                       -> decoder.position_encodings
    decoder.token_embedding.weight                     -> decoder.embeddings and (tied)
                                                          decoder.projection (no bias)

Attention scaling needs no change: OpenAI/whisper.cpp scale q and k by d_head^-0.25 each,
HF and ctranslate2 scale q by d_head^-0.5, which is the same product.

Token ids follow whisper.cpp's layout for n_vocab (multilingual 51865: eot 50257, sot 50258,
99 language tokens 50259.., translate 50358, transcribe 50359, startoflm 50360, startofprev
50361, nocaptions 50362, notimestamps 50363, timestamps from 50364). Ids stored in the ggml
vocab keep their bytes (GPT-2 byte-level strings in tokenizer.json/vocabulary.json); ids
past it that are not special get placeholder names, as whisper.cpp does, except id eot-1
of a multilingual model, which is "" as in real converted vocabularies (ctranslate2 treats a
model as multilingual exactly when its vocabulary contains "").
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ggml_reader  # noqa: E402

# OpenAI whisper's language order (= whisper.cpp's g_lang ids 0..99).
LANGUAGES = (
    "en zh de es ru ko fr ja pt tr pl ca nl ar sv it id hi fi vi he uk el ms cs ro da hu ta no "
    "th ur hr bg lt la mi ml cy sk te fa lv bn sr az sl kn et mk br eu is hy ne mn bs kk sq sw "
    "gl mr pa si km sn yo so af oc ka be tg sd gu am yi lo uz fo ht ps tk nn mt sa lb my bo tl "
    "mg as tt haw ln ha ba jw su yue"
).split()
assert len(LANGUAGES) == 100


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable character map (as in HF's byte-level BPE)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def token_strings(model: ggml_reader.GgmlWhisperModel) -> tuple[list[str], dict[str, int]]:
    """One unique string per id (0..n_vocab-1) and the special tokens' ids by name."""
    hp = model.hparams
    tk = model.special_tokens
    b2u = bytes_to_unicode()
    tokens = ["".join(b2u[b] for b in tok) for tok in model.vocab]
    special: dict[str, int] = {
        "<|endoftext|>": tk.eot,
        "<|startoftranscript|>": tk.sot,
        "<|translate|>": tk.translate,
        "<|transcribe|>": tk.transcribe,
        "<|startoflm|>": tk.solm,
        "<|startofprev|>": tk.prev,
        "<|nocaptions|>": tk.nosp,
        "<|notimestamps|>": tk.notimestamps,
    }
    if hp.is_multilingual:
        for i in range(tk.num_languages):
            special[f"<|{LANGUAGES[i]}|>"] = tk.lang(i)
    by_id = {v: k for k, v in special.items()}
    for i in range(len(tokens), hp.n_vocab):
        if i >= tk.beg:
            tokens.append("<|%.2f|>" % ((i - tk.beg) * 0.02))
        elif i in by_id:
            tokens.append(by_id[i])
        elif hp.is_multilingual and i == tk.eot - 1:
            # Real multilingual vocabularies have an empty token right before <|endoftext|>;
            # ctranslate2 (4.x) decides "multilingual" by whether the vocabulary has "".
            tokens.append("")
        else:
            tokens.append(f"[_extra_token_{i}]")
    if len(set(tokens)) != len(tokens):
        raise ValueError("token strings are not unique")
    for name, i in special.items():
        if tokens[i] != name:
            raise ValueError(f"{name} should be id {i}, but the ggml vocab has {tokens[i]!r} there")
    return tokens, special


def build_tokenizer_json(tokens: list[str], special: dict[str, int], beg: int) -> str:
    """A byte-level BPE tokenizer.json (no merges) with the given ids.

    Decoding is exact for every stored token; encoding falls back to single bytes
    (faster-whisper only encodes prompts and the non-speech symbol list).
    """
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

    vocab = {t: i for i, t in enumerate(tokens)}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    added = sorted(special.items(), key=lambda kv: kv[1])
    added += [(tokens[i], i) for i in range(beg, len(tokens))]
    tok.add_special_tokens([AddedToken(name, special=True, normalized=False) for name, _ in added])
    for name, i in added:
        if tok.token_to_id(name) != i:
            raise RuntimeError(f"tokenizer put {name} at {tok.token_to_id(name)}, not {i}")
    return tok.to_str(pretty=False)


def build_spec(model: ggml_reader.GgmlWhisperModel, tokens: list[str]):
    from ctranslate2.converters import utils
    from ctranslate2.specs import common_spec, whisper_spec

    hp, t = model.hparams, model.tensors
    tk = model.special_tokens
    used: set[str] = set()

    def get(name: str) -> np.ndarray:
        used.add(name)
        return np.ascontiguousarray(t[name], dtype=np.float32)

    def linear(spec, prefix: str) -> None:
        spec.weight = get(prefix + ".weight")
        if prefix + ".bias" in t:
            spec.bias = get(prefix + ".bias")

    def layer_norm(spec, prefix: str) -> None:
        spec.gamma = get(prefix + ".weight")
        spec.beta = get(prefix + ".bias")

    def fused(spec, prefixes: list[str]) -> None:
        parts = []
        for p in prefixes:
            part = common_spec.LinearSpec()
            linear(part, p)
            parts.append(part)
        utils.fuse_linear(spec, parts)

    def attention(spec, prefix: str, self_attention: bool) -> None:
        if self_attention:
            fused(spec.linear[0], [f"{prefix}.query", f"{prefix}.key", f"{prefix}.value"])
        else:
            fused(spec.linear[0], [f"{prefix}.query"])
            fused(spec.linear[1], [f"{prefix}.key", f"{prefix}.value"])
        linear(spec.linear[-1], f"{prefix}.out")
        layer_norm(spec.layer_norm, f"{prefix}_ln")

    def ffn(spec, prefix: str) -> None:
        linear(spec.linear_0, prefix + ".mlp.0")
        linear(spec.linear_1, prefix + ".mlp.2")
        layer_norm(spec.layer_norm, prefix + ".mlp_ln")

    spec = whisper_spec.WhisperSpec(hp.n_audio_layer, hp.n_audio_head, hp.n_text_layer, hp.n_text_head)
    enc = spec.encoder
    for i in (1, 2):
        conv = getattr(enc, f"conv{i}")
        conv.weight = get(f"encoder.conv{i}.weight")
        conv.bias = get(f"encoder.conv{i}.bias").reshape(-1)
    enc.position_encodings.encodings = get("encoder.positional_embedding")
    layer_norm(enc.layer_norm, "encoder.ln_post")
    for i, layer in enumerate(enc.layer):
        p = f"encoder.blocks.{i}"
        attention(layer.self_attention, p + ".attn", True)
        ffn(layer.ffn, p)

    dec = spec.decoder
    emb = get("decoder.token_embedding.weight")
    dec.embeddings.weight = emb
    dec.projection.weight = emb  # tied, no bias (HF proj_out)
    dec.position_encodings.encodings = get("decoder.positional_embedding")
    layer_norm(dec.layer_norm, "decoder.ln")
    for i, layer in enumerate(dec.layer):
        p = f"decoder.blocks.{i}"
        attention(layer.self_attention, p + ".attn", True)
        attention(layer.attention, p + ".cross_attn", False)
        ffn(layer.ffn, p)

    unused = set(t) - used
    if unused:
        raise ValueError(f"tensors not mapped: {sorted(unused)[:5]}")

    spec.register_vocabulary(tokens)
    # HF generation_config equivalents. suppress_ids is only used when a caller passes -1
    # (faster-whisper expands -1 itself); suppress_ids_begin is whisper.cpp's suppress_blank
    # set: " " and EOT at the first sampled position.
    space = tokens.index(bytes_to_unicode()[0x20])
    spec.config.suppress_ids = []
    spec.config.suppress_ids_begin = [space, tk.eot]
    spec.config.lang_ids = [tk.lang(i) for i in range(tk.num_languages)] if hp.is_multilingual else []
    n_layers, n_heads = hp.n_text_layer, hp.n_text_head
    spec.config.alignment_heads = list(itertools.product(range(n_layers // 2, n_layers), range(n_heads)))
    return spec


PREPROCESSOR_CONFIG = {
    "chunk_length": 30,
    "feature_extractor_type": "WhisperFeatureExtractor",
    "feature_size": 80,
    "hop_length": 160,
    "n_fft": 400,
    "n_samples": 480000,
    "nb_max_frames": 3000,
    "padding_side": "right",
    "padding_value": 0.0,
    "processor_class": "WhisperProcessor",
    "return_attention_mask": False,
    "sampling_rate": 16000,
}


def convert(ggml_file: str, out_dir: str, quantization: str | None) -> str:
    model = ggml_reader.read_whisper_model(ggml_file)
    hp = model.hparams
    if hp.n_mels != 80:
        raise ValueError("only 80-mel models are handled (preprocessor_config feature_size)")
    tokens, special = token_strings(model)
    spec = build_spec(model, tokens)
    spec.validate()
    spec.optimize(quantization=quantization)
    tmp = out_dir.rstrip("/") + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    spec.save(tmp)
    with open(os.path.join(tmp, "tokenizer.json"), "w", encoding="utf-8") as f:
        f.write(build_tokenizer_json(tokens, special, model.special_tokens.beg))
    with open(os.path.join(tmp, "preprocessor_config.json"), "w", encoding="utf-8") as f:
        json.dump({**PREPROCESSOR_CONFIG, "feature_size": hp.n_mels}, f, indent=2)
    shutil.rmtree(out_dir, ignore_errors=True)
    os.replace(tmp, out_dir)
    return out_dir


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("ggml_file")
    ap.add_argument("out_dir", help="replaced if it exists")
    ap.add_argument(
        "--quantization",
        default="int8",
        help="ctranslate2 weight type: int8 (default), float32, float16, int8_float32, ... "
        "(faster-whisper's compute_type can still convert at load time)",
    )
    args = ap.parse_args(argv)
    q = None if args.quantization in ("", "none") else args.quantization
    out = convert(args.ggml_file, args.out_dir, q)
    size = sum(os.path.getsize(os.path.join(out, n)) for n in os.listdir(out))
    print(f"{out} {size}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
