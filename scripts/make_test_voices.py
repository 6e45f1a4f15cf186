#!/usr/bin/env python3
"""Deterministic tiny Piper voices for hearsay's text-to-speech tests.

Each voice is an ONNX model with exactly the contract of a voice exported by piper-tts
(`train/export_onnx.py`, opset 15):

    input          int64   [batch_size, phonemes]   phoneme ids
    input_lengths  int64   [batch_size]             = phonemes
    scales         float32 [3]                      [noise_scale, length_scale, noise_w]
    sid            int64   [1]                      multi-speaker voices only
    output         float32 [1, 1, 1, samples]       (declared dims are symbolic)

plus the `NAME.onnx.json` config piper reads. Instead of speech, every phoneme id
becomes ceil(2 * length_scale) * 256 samples of a sine wave at

    100 + 10*id + 50*sid + 100*noise_scale + 50*noise_w  Hz

(amplitude 0.5, phase reset at each phoneme), so every input has a checkable effect.
The per-phoneme frame counts are one `Ceil` node ("w_ceil", [1, 1, phonemes]), like a real
VITS graph, so piper's alignment patch (`piper.patch_voice_with_alignment`) finds it.

Voices written: tiny-en (espeak voice en-us), tiny-de (de), tiny-es (es), tiny-cmn (cmn),
tiny-en-16k (en-us at 16000 Hz) and tiny-multi (en-us, speakers alice=0 and bob=1); all at
22050 Hz unless named otherwise. The configs use piper's default phoneme id map and
num_symbols 256.

`--medium` writes medium-random.onnx instead: a voice with the layer sizes of a Piper
"medium" voice and seeded random weights, for benchmarks (see build_medium_model).

The output is byte-for-byte reproducible (fixed producer fields, no timestamps, seeded
weights). Needs the `onnx` package (and numpy for --medium), pinned in
scripts/requirements-test.txt. If piper-tts is installed, its DEFAULT_PHONEME_ID_MAP is
checked against the copy below.

    make_test_voices.py OUT_DIR              the tiny voices
    make_test_voices.py --medium OUT_DIR     medium-random.onnx (+ .json), ~60 MB
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys

import onnx
from onnx import TensorProto, helper

OPSET = 15
IR_VERSION = 8
HOP_LENGTH = 256
NUM_SYMBOLS = 256
PRODUCER = "hearsay-make_test_voices"
PRODUCER_VERSION = "1"

# piper-tts 1.8.0, piper/phoneme_ids.py: DEFAULT_PHONEME_ID_MAP, in its order (ids 0-165).
_DEFAULT_PHONEMES = (
    ["_", "^", "$", " ", "!", "'", "(", ")", ",", "-", ".", ":", ";", "?"]
    + list("abcdefhijklmnopqrstuvwxyz")
    + list("æçðøħŋœǀǁǂǃɐɑɒɓɔɕɖɗɘəɚɛɜɞɟɠɡɢɣɤɥɦɧɨɪɫɬɭɮɯɰɱɲɳɴɵɶɸɹɺɻɽɾʀʁʂʃʄʈʉʊʋʌʍʎʏʐʑʒʔʕʘʙʛʜʝʟʡʢʲˈˌːˑ˞βθχᵻⱱ")
    + list("0123456789")
    + ["\u0327", "\u0303", "\u032a", "\u032f", "\u0329", "ʰ", "ˤ", "ε", "↓", "#", '"', "↑"]
    + ["\u033a", "\u033b", "g", "ʦ", "X", "\u031d", "\u030a", "ɝ", "ʷ"]
    + ["aɪ", "aʊ", "ɔɪ", "eɪ", "oʊ"]
)
DEFAULT_PHONEME_ID_MAP: dict[str, list[int]] = {p: [i] for i, p in enumerate(_DEFAULT_PHONEMES)}


def phoneme_id_map() -> dict[str, list[int]]:
    """piper's default map; cross-checked with the installed piper-tts when there is one."""
    try:
        from piper.phoneme_ids import DEFAULT_PHONEME_ID_MAP as installed  # type: ignore
    except ImportError:
        return DEFAULT_PHONEME_ID_MAP
    if list(installed.items()) != [(k, list(v)) for k, v in DEFAULT_PHONEME_ID_MAP.items()]:
        sys.exit("make_test_voices: piper-tts's DEFAULT_PHONEME_ID_MAP differs from the copy here")
    return DEFAULT_PHONEME_ID_MAP


# name -> (espeak voice, language code, sample rate, speakers)
VOICES = {
    "tiny-en": ("en-us", "en_US", 22050, []),
    "tiny-de": ("de", "de_DE", 22050, []),
    "tiny-es": ("es", "es_ES", 22050, []),
    "tiny-cmn": ("cmn", "zh_CN", 22050, []),
    "tiny-en-16k": ("en-us", "en_US", 16000, []),
    "tiny-multi": ("en-us", "en_US", 22050, ["alice", "bob"]),
}


def const(name: str, dtype: int, dims: list[int], values: list) -> onnx.NodeProto:
    return helper.make_node(
        "Constant", [], [name], name=name, value=helper.make_tensor(name + "_value", dtype, dims, values)
    )


def build_model(name: str, sample_rate: int, multi_speaker: bool) -> onnx.ModelProto:
    f32, i64 = TensorProto.FLOAT, TensorProto.INT64
    n = helper.make_node
    nodes = [
        const("zero_i", i64, [1], [0]),
        const("axis1", i64, [1], [1]),
        const("idx_noise", i64, [], [0]),
        const("idx_length", i64, [], [1]),
        const("idx_noise_w", i64, [], [2]),
        const("c_two", f32, [], [2.0]),
        const("c_hop", f32, [], [float(HOP_LENGTH)]),
        const("c_zero", f32, [], [0.0]),
        const("c_one", f32, [], [1.0]),
        const("c_100", f32, [], [100.0]),
        const("c_50", f32, [], [50.0]),
        const("c_10", f32, [], [10.0]),
        const("c_half", f32, [], [0.5]),
        const("c_omega", f32, [], [2.0 * math.pi / sample_rate]),
        const("col_shape", i64, [2], [-1, 1]),
        const("out_shape", i64, [4], [1, 1, 1, -1]),
        # ids = input[:, :input_lengths[0]] as float, [1, T]
        n("Slice", ["input", "zero_i", "input_lengths", "axis1"], ["ids"], name="ids"),
        n("Cast", ["ids"], ["ids_f"], name="ids_f", to=f32),
        # scales -> scalars
        n("Gather", ["scales", "idx_noise"], ["noise_scale"], name="noise_scale", axis=0),
        n("Gather", ["scales", "idx_length"], ["length_scale"], name="length_scale", axis=0),
        n("Gather", ["scales", "idx_noise_w"], ["noise_w"], name="noise_w", axis=0),
        # base frequency = 100 + 100*noise_scale + 50*noise_w (+ 50*sid)
        n("Mul", ["noise_scale", "c_100"], ["f_noise"], name="f_noise"),
        n("Mul", ["noise_w", "c_50"], ["f_noise_w"], name="f_noise_w"),
        n("Add", ["c_100", "f_noise"], ["f_base0"], name="f_base0"),
        n("Add", ["f_base0", "f_noise_w"], ["f_base1"], name="f_base1"),
    ]
    base = "f_base1"
    if multi_speaker:
        nodes += [
            n("Cast", ["sid"], ["sid_f"], name="sid_f", to=f32),
            n("Mul", ["sid_f", "c_50"], ["f_sid"], name="f_sid"),
            n("Add", ["f_base1", "f_sid"], ["f_base2"], name="f_base2"),
        ]
        base = "f_base2"
    nodes += [
        # frequency per phoneme id, as a column [T, 1]
        n("Mul", ["ids_f", "c_10"], ["f_ids"], name="f_ids"),
        n("Add", ["f_ids", base], ["freq"], name="freq"),
        n("Reshape", ["freq", "col_shape"], ["freq_col"], name="freq_col"),
        # w_ceil = ceil(2 * length_scale) frames per phoneme id, [1, 1, T] (the one Ceil node)
        n("Unsqueeze", ["ids_f", "axis1"], ["ids_3d"], name="ids_3d"),
        n("Mul", ["ids_3d", "c_zero"], ["zeros_3d"], name="zeros_3d"),
        n("Mul", ["length_scale", "c_two"], ["w_scalar"], name="w_scalar"),
        n("Add", ["zeros_3d", "w_scalar"], ["w"], name="w"),
        n("Ceil", ["w"], ["w_ceil"], name="w_ceil"),
        # samples per phoneme id
        n("ReduceMax", ["w_ceil"], ["frames"], name="frames", keepdims=0),
        n("Mul", ["frames", "c_hop"], ["samples"], name="samples"),
        n("Range", ["c_zero", "samples", "c_one"], ["k"], name="k"),
        # 0.5 * sin(2*pi*freq*k/sample_rate), [T, samples] -> [1, 1, 1, T*samples]
        n("Mul", ["freq_col", "c_omega"], ["omega"], name="omega"),
        n("Mul", ["omega", "k"], ["phase"], name="phase"),
        n("Sin", ["phase"], ["wave"], name="wave"),
        n("Mul", ["wave", "c_half"], ["wave_half"], name="wave_half"),
        n("Reshape", ["wave_half", "out_shape"], ["output"], name="output"),
    ]
    inputs = [
        helper.make_tensor_value_info("input", i64, ["batch_size", "phonemes"]),
        helper.make_tensor_value_info("input_lengths", i64, ["batch_size"]),
        helper.make_tensor_value_info("scales", f32, [3]),
    ]
    if multi_speaker:
        inputs.append(helper.make_tensor_value_info("sid", i64, [1]))
    outputs = [helper.make_tensor_value_info("output", f32, ["batch_size", 1, "time", "samples"])]
    graph = helper.make_graph(nodes, name.replace("-", "_"), inputs, outputs)
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name=PRODUCER,
        producer_version=PRODUCER_VERSION,
    )
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    return model


def build_config(name: str, espeak_voice: str, language: str, sample_rate: int, speakers: list[str]) -> dict:
    family, _, region = language.partition("_")
    return {
        "dataset": name,
        "audio": {"sample_rate": sample_rate, "quality": "test"},
        "espeak": {"voice": espeak_voice},
        "language": {"code": language, "family": family, "region": region},
        "inference": {"noise_scale": 0.667, "length_scale": 1, "noise_w": 0.8},
        "phoneme_type": "espeak",
        "phoneme_map": {},
        "phoneme_id_map": phoneme_id_map(),
        "num_symbols": NUM_SYMBOLS,
        "num_speakers": max(1, len(speakers)),
        "speaker_id_map": {speaker: i for i, speaker in enumerate(speakers)},
        "piper_version": "1.0.0",
    }


def write_bytes(path: str, data: bytes) -> None:
    """Write via a temporary name so a reader never sees half a file."""
    tmp = path + ".tmp"
    with open(tmp, "wb") as file:
        file.write(data)
    os.replace(tmp, path)


def write_voice(out_dir: str, name: str) -> None:
    espeak_voice, language, sample_rate, speakers = VOICES[name]
    model = build_model(name, sample_rate, multi_speaker=len(speakers) > 1)
    config = build_config(name, espeak_voice, language, sample_rate, speakers)
    # The model first: a voice counts as present once its .onnx.json exists.
    write_bytes(os.path.join(out_dir, name + ".onnx"), model.SerializeToString(deterministic=True))
    text = json.dumps(config, ensure_ascii=False, indent=4) + "\n"
    write_bytes(os.path.join(out_dir, name + ".onnx.json"), text.encode("utf-8"))


# ------------------------------------------------------------------ medium-random
# A stand-in for a Piper "medium" voice (piper-tts's VitsModel defaults: hidden/inter 192,
# filter 768, 2 heads, 6 layers, HiFi-GAN generator 256 -> (8, 8, 4) upsampling with
# ResBlock2 kernels (3, 5, 7)) with seeded random weights, for benchmarks. piper's own export
# needs torch, whose Linux wheels on PyPI pull in gigabytes of CUDA packages, so the graph is
# written here with the same layers and sizes. Differences from a real export, all cheap next
# to the generator: attention without relative position embeddings, the plain
# DurationPredictor instead of the stochastic one (noise_w scales its noise), and durations
# squashed to 1.1-4.4 frames per id (x length_scale) so that random weights give speech-like
# lengths (about 12 phonemes a second). ~15.6M parameters (a real medium voice: ~15.8M, 63 MB).

MEDIUM_SEED = 20250101
MEDIUM = dict(hidden=192, filter=768, heads=2, layers=6, kernel=3, dp_filter=256, flows=4,
              wn_layers=4, wn_kernel=5, upsample_initial=256, upsample_rates=(8, 8, 4),
              upsample_kernels=(16, 16, 8), resblock_kernels=(3, 5, 7),
              resblock_dilations=((1, 2), (2, 6), (3, 12)))


class _Graph:
    """Collects nodes and seeded float32 initializers."""

    def __init__(self, seed: int):
        import numpy as np

        self.np = np
        self.rng = np.random.default_rng(seed)
        self.nodes: list = []
        self.inits: list = []
        self.count = 0

    def name(self, hint: str) -> str:
        self.count += 1
        return f"{hint}_{self.count}"

    def weight(self, hint: str, shape: tuple, std: float) -> str:
        from onnx import numpy_helper

        name = self.name(hint)
        values = (self.rng.standard_normal(shape) * std).astype("<f4")
        self.inits.append(numpy_helper.from_array(values, name))
        return name

    def const(self, hint: str, values, dtype: str = "<f4") -> str:
        from onnx import numpy_helper

        name = self.name(hint)
        self.inits.append(numpy_helper.from_array(self.np.array(values, dtype=dtype), name))
        return name

    def op(self, op_type: str, inputs: list, hint: str = "", outputs: int = 1, **attrs):
        names = [self.name(hint or op_type.lower()) for _ in range(outputs)]
        self.nodes.append(helper.make_node(op_type, inputs, names, name=names[0], **attrs))
        return names[0] if outputs == 1 else names

    def conv(self, x: str, c_in: int, c_out: int, k: int, dilation: int = 1, bias: bool = True, gain: float = 1.0) -> str:
        w = self.weight("conv_w", (c_out, c_in, k), gain / math.sqrt(c_in * k))
        inputs = [x, w] + ([self.const("conv_b", [0.0] * c_out)] if bias else [])
        pad = dilation * (k - 1) // 2
        return self.op("Conv", inputs, "conv", dilations=[dilation], pads=[pad, pad], kernel_shape=[k])

    def conv_transpose(self, x: str, c_in: int, c_out: int, k: int, stride: int) -> str:
        w = self.weight("up_w", (c_in, c_out, k), 1.0 / math.sqrt(c_in * k / stride))
        pad = (k - stride) // 2
        return self.op("ConvTranspose", [x, w, self.const("up_b", [0.0] * c_out)], "up",
                       strides=[stride], pads=[pad, pad], kernel_shape=[k])

    def layer_norm(self, x: str, channels: int) -> str:
        """piper's modules.LayerNorm: over channels of [1, C, T] (opset 15 has no LayerNormalization)."""
        mean = self.op("ReduceMean", [x], axes=[1], keepdims=1)
        centered = self.op("Sub", [x, mean])
        var = self.op("ReduceMean", [self.op("Mul", [centered, centered])], axes=[1], keepdims=1)
        std = self.op("Sqrt", [self.op("Add", [var, self.const("eps", [1e-5])])])
        normed = self.op("Div", [centered, std])
        gamma = self.const("gamma", self.np.ones((1, channels, 1)))
        beta = self.const("beta", self.np.zeros((1, channels, 1)))
        return self.op("Add", [self.op("Mul", [normed, gamma]), beta])

    def leaky_relu(self, x: str, slope: float) -> str:
        return self.op("LeakyRelu", [x], alpha=slope)


def _attention(g: _Graph, x: str, channels: int, heads: int) -> str:
    d = channels // heads
    split = g.const("heads_shape", [1, heads, d, -1], "<i8")
    merge = g.const("merge_shape", [1, channels, -1], "<i8")

    def project(hint: str) -> str:
        y = g.conv(x, channels, channels, 1)
        return g.op("Reshape", [y, split], hint)  # [1, H, d, T]

    q, k, v = project("q"), project("k"), project("v")
    q = g.op("Transpose", [q], perm=[0, 1, 3, 2])  # [1, H, T, d]
    scores = g.op("Div", [g.op("MatMul", [q, k]), g.const("sqrt_d", [math.sqrt(d)])])  # [1, H, T, T]
    weights = g.op("Softmax", [scores], axis=-1)
    out = g.op("MatMul", [v, g.op("Transpose", [weights], perm=[0, 1, 3, 2])])  # [1, H, d, T]
    return g.conv(g.op("Reshape", [out, merge]), channels, channels, 1)


def _wn(g: _Graph, h: str, hidden: int, kernel: int, layers: int) -> str:
    output = None
    for i in range(layers):
        x_in = g.conv(h, hidden, 2 * hidden, kernel)
        t, s = g.op("Split", [x_in], outputs=2, axis=1)
        acts = g.op("Mul", [g.op("Tanh", [t]), g.op("Sigmoid", [s])])
        last = i == layers - 1
        res_skip = g.conv(acts, hidden, hidden if last else 2 * hidden, 1)
        if last:
            skip = res_skip
        else:
            res, skip = g.op("Split", [res_skip], outputs=2, axis=1)
            h = g.op("Add", [h, res])
        output = skip if output is None else g.op("Add", [output, skip])
    return output


def build_medium_model() -> onnx.ModelProto:
    m = MEDIUM
    g = _Graph(MEDIUM_SEED)
    f32, i64 = TensorProto.FLOAT, TensorProto.INT64
    hidden = m["hidden"]
    # Text encoder.
    ids = g.op("Slice", ["input", g.const("zero", [0], "<i8"), "input_lengths", g.const("axis1", [1], "<i8")])
    emb = g.weight("emb", (NUM_SYMBOLS, hidden), hidden**-0.5)
    x = g.op("Mul", [g.op("Gather", [emb, ids], axis=0), g.const("sqrt_h", [math.sqrt(hidden)])])
    x = g.op("Transpose", [x], perm=[0, 2, 1])  # [1, C, T]
    for _ in range(m["layers"]):
        x = g.layer_norm(g.op("Add", [x, _attention(g, x, hidden, m["heads"])]), hidden)
        y = g.conv(g.op("Relu", [g.conv(x, hidden, m["filter"], m["kernel"])]), m["filter"], hidden, m["kernel"])
        x = g.layer_norm(g.op("Add", [x, y]), hidden)
    stats = g.conv(x, hidden, 2 * hidden, 1, gain=0.3)
    m_p, logs_p = g.op("Split", [stats], outputs=2, axis=1)
    # Scales.
    noise_scale = g.op("Gather", ["scales", g.const("i0", 0, "<i8")], axis=0)
    length_scale = g.op("Gather", ["scales", g.const("i1", 1, "<i8")], axis=0)
    noise_w = g.op("Gather", ["scales", g.const("i2", 2, "<i8")], axis=0)
    # Durations: w_ceil [1, 1, T] is the one Ceil node (piper's alignment patch finds it).
    d = g.layer_norm(g.op("Relu", [g.conv(x, hidden, m["dp_filter"], 3)]), m["dp_filter"])
    d = g.layer_norm(g.op("Relu", [g.conv(d, m["dp_filter"], m["dp_filter"], 3)]), m["dp_filter"])
    d = g.conv(d, m["dp_filter"], 1, 1)
    eps_w = g.op("RandomNormalLike", [d], seed=float(MEDIUM_SEED))
    d = g.op("Add", [d, g.op("Mul", [eps_w, noise_w])])
    logw = g.op("Add", [g.op("Mul", [g.op("Tanh", [d]), g.const("spread", [0.7])]), g.const("ln_mean", [math.log(2.2)])])
    w = g.op("Mul", [g.op("Exp", [logw]), length_scale])
    w_ceil = g.op("Ceil", [w], "w_ceil")
    # Length regulation (commons.generate_path): frame f belongs to id t when
    # cum[t] - w[t] <= f < cum[t].
    durations = g.op("Reshape", [w_ceil, g.const("flat", [-1], "<i8")])  # [T]
    cum = g.op("CumSum", [durations, g.const("axis0", 0, "<i8")])
    start = g.op("Sub", [cum, durations])
    total = g.op("Max", [g.op("ReduceSum", [durations], keepdims=0), g.const("one", 1.0)])
    frames = g.op("Unsqueeze", [g.op("Range", [g.const("f0", 0.0), total, g.const("f1", 1.0)]), g.const("ax1", [1], "<i8")])
    inside = g.op("And", [g.op("Less", [frames, cum]), g.op("Not", [g.op("Less", [frames, start])])])
    path = g.op("Cast", [inside], to=f32)  # [T', T]
    expand = lambda s: g.op("Transpose", [g.op("MatMul", [path, g.op("Transpose", [s], perm=[0, 2, 1])])], perm=[0, 2, 1])
    m_p, logs_p = expand(m_p), expand(logs_p)  # [1, C, T']
    eps = g.op("RandomNormalLike", [m_p], seed=float(MEDIUM_SEED + 1))
    z = g.op("Add", [m_p, g.op("Mul", [g.op("Mul", [eps, g.op("Exp", [logs_p])]), noise_scale])])
    # Flow, reversed: (Flip, then the coupling layer's inverse) x 4, mean only.
    half = hidden // 2
    flip = g.const("flip", list(range(hidden - 1, -1, -1)), "<i8")
    for _ in range(m["flows"]):
        z = g.op("Gather", [z, flip], axis=1)
        x0, x1 = g.op("Split", [z], outputs=2, axis=1)
        h = g.conv(x0, half, hidden, 1)
        mean = g.conv(_wn(g, h, hidden, m["wn_kernel"], m["wn_layers"]), hidden, half, 1, gain=0.1)
        z = g.op("Concat", [x0, g.op("Sub", [x1, mean])], axis=1)
    # Generator (HiFi-GAN, ResBlock2).
    y = g.conv(z, hidden, m["upsample_initial"], 7)
    channels = m["upsample_initial"]
    kernels = m["resblock_kernels"]
    for rate, k in zip(m["upsample_rates"], m["upsample_kernels"]):
        y = g.conv_transpose(g.leaky_relu(y, 0.1), channels, channels // 2, k, rate)
        channels //= 2
        total_rb = None
        for rk, dilations in zip(kernels, m["resblock_dilations"]):
            r = y
            for dilation in dilations:
                r = g.op("Add", [g.conv(g.leaky_relu(r, 0.1), channels, channels, rk, dilation, gain=0.5), r])
            total_rb = r if total_rb is None else g.op("Add", [total_rb, r])
        y = g.op("Div", [total_rb, g.const("n_kernels", [float(len(kernels))])])
    y = g.op("Tanh", [g.conv(g.leaky_relu(y, 0.01), channels, 1, 7, bias=False)])
    g.op("Reshape", [y, g.const("out_shape", [1, 1, 1, -1], "<i8")], "output_node")
    g.nodes[-1].output[0] = "output"

    inputs = [
        helper.make_tensor_value_info("input", i64, ["batch_size", "phonemes"]),
        helper.make_tensor_value_info("input_lengths", i64, ["batch_size"]),
        helper.make_tensor_value_info("scales", f32, [3]),
    ]
    outputs = [helper.make_tensor_value_info("output", f32, ["batch_size", 1, "time", "samples"])]
    graph = helper.make_graph(g.nodes, "medium_random", inputs, outputs, initializer=g.inits)
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name=PRODUCER,
        producer_version=PRODUCER_VERSION,
    )
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    return model


def write_medium(out_dir: str) -> None:
    model = build_medium_model()
    write_bytes(os.path.join(out_dir, "medium-random.onnx"), model.SerializeToString(deterministic=True))
    config = build_config("medium-random", "en-us", "en_US", 22050, [])
    config["audio"]["quality"] = "medium"
    text = json.dumps(config, ensure_ascii=False, indent=4) + "\n"
    write_bytes(os.path.join(out_dir, "medium-random.onnx.json"), text.encode("utf-8"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir", help="directory to write NAME.onnx and NAME.onnx.json into")
    parser.add_argument(
        "--medium",
        action="store_true",
        help="write only medium-random.onnx (+ .json): a Piper medium-sized voice with seeded "
        "random weights, for benchmarks (~60 MB, needs numpy)",
    )
    parser.add_argument("--only", action="append", choices=sorted(VOICES), help="write only these voices")
    args = parser.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    if args.medium:
        write_medium(args.out_dir)
        return 0
    for name in args.only or list(VOICES):
        write_voice(args.out_dir, name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
