//! Tests for the ggml model validator, with a small writer for synthetic model files.
//!
//! The writer lays files out the way whisper.cpp's converters do (`convert-pt-to-ggml.py`,
//! `convert-silero-vad-to-ggml.py`): PyTorch shapes reversed into ggml order, 1-D tensors,
//! positional embeddings and conv biases in f32, the rest in the weight type, conv weights f16.
//! It is written independently of the validator's own tensor table so that it can catch
//! mistakes there.

use super::*;
use std::io::{Seek, SeekFrom, Write};

fn put_i32(out: &mut Vec<u8>, value: i32) {
    out.extend_from_slice(&value.to_le_bytes());
}

/// One tensor record as a converter would write it.
#[derive(Debug, Clone)]
struct TestTensor {
    name: String,
    /// ggml order (PyTorch shape reversed).
    ne: Vec<i32>,
    ttype: i32,
    data_bytes: usize,
}

impl TestTensor {
    /// `shape` is the PyTorch/numpy shape; ttype 0 = f32, 1 = f16, 8 = q8_0, 2 = q4_0.
    fn new(name: &str, shape: &[i32], ttype: i32) -> Self {
        let (block, size) = match ttype {
            0 => (1, 4),
            1 => (1, 2),
            2 => (32, 18),
            8 => (32, 34),
            _ => panic!("the test writer does not know ttype {ttype}"),
        };
        let elements: usize = shape.iter().map(|&d| d as usize).product();
        Self {
            name: name.to_string(),
            ne: shape.iter().rev().copied().collect(),
            ttype,
            data_bytes: elements / block * size,
        }
    }
}

/// Where things are in a written file, for cutting and patching it.
#[derive(Debug, Default)]
struct Layout {
    vocab_start: usize,
    token_len_offsets: Vec<usize>,
    tensors_start: usize,
    /// (name, record start, data start, record end)
    records: Vec<(String, usize, usize, usize)>,
}

fn write_records(out: &mut Vec<u8>, tensors: &[TestTensor], layout: &mut Layout) {
    layout.tensors_start = out.len();
    for tensor in tensors {
        let start = out.len();
        put_i32(out, tensor.ne.len() as i32);
        put_i32(out, tensor.name.len() as i32);
        put_i32(out, tensor.ttype);
        for &dim in &tensor.ne {
            put_i32(out, dim);
        }
        out.extend_from_slice(tensor.name.as_bytes());
        let data_start = out.len();
        out.resize(data_start + tensor.data_bytes, 0);
        layout
            .records
            .push((tensor.name.clone(), start, data_start, out.len()));
    }
}

#[derive(Debug, Clone)]
struct Dims {
    n_vocab: i32,
    n_state: i32,
    n_head: i32,
    n_audio_layer: i32,
    n_text_layer: i32,
    n_mels: i32,
    ftype: i32,
}

impl Default for Dims {
    fn default() -> Self {
        Self {
            n_vocab: 51865,
            n_state: 8,
            n_head: 2,
            n_audio_layer: 1,
            n_text_layer: 1,
            n_mels: 80,
            ftype: 1,
        }
    }
}

#[derive(Debug, Clone)]
struct TestWhisper {
    hparams: [i32; 11],
    filters: (i32, i32),
    vocab: Vec<Vec<u8>>,
    tensors: Vec<TestTensor>,
}

impl TestWhisper {
    fn new(dims: &Dims) -> Self {
        let n = dims.n_state;
        let weight = match dims.ftype % 1000 {
            0 => 0,
            1 => 1,
            2 => 2,
            7 => 8,
            other => panic!("the test writer does not know ftype {other}"),
        };
        let conv = if weight == 0 { 0 } else { 1 };
        let mut tensors = vec![
            TestTensor::new("encoder.positional_embedding", &[1500, n], 0),
            TestTensor::new("encoder.conv1.weight", &[n, dims.n_mels, 3], conv),
            TestTensor::new("encoder.conv1.bias", &[n, 1], 0),
            TestTensor::new("encoder.conv2.weight", &[n, n, 3], conv),
            TestTensor::new("encoder.conv2.bias", &[n, 1], 0),
        ];
        let block = |tensors: &mut Vec<TestTensor>, prefix: &str, attns: &[&str]| {
            for attn in attns {
                for proj in ["query", "key", "value", "out"] {
                    tensors.push(TestTensor::new(
                        &format!("{prefix}.{attn}.{proj}.weight"),
                        &[n, n],
                        weight,
                    ));
                    if proj != "key" {
                        tensors.push(TestTensor::new(
                            &format!("{prefix}.{attn}.{proj}.bias"),
                            &[n],
                            0,
                        ));
                    }
                }
                tensors.push(TestTensor::new(
                    &format!("{prefix}.{attn}_ln.weight"),
                    &[n],
                    0,
                ));
                tensors.push(TestTensor::new(
                    &format!("{prefix}.{attn}_ln.bias"),
                    &[n],
                    0,
                ));
            }
            tensors.push(TestTensor::new(
                &format!("{prefix}.mlp.0.weight"),
                &[4 * n, n],
                weight,
            ));
            tensors.push(TestTensor::new(
                &format!("{prefix}.mlp.0.bias"),
                &[4 * n],
                0,
            ));
            tensors.push(TestTensor::new(
                &format!("{prefix}.mlp.2.weight"),
                &[n, 4 * n],
                weight,
            ));
            tensors.push(TestTensor::new(&format!("{prefix}.mlp.2.bias"), &[n], 0));
            tensors.push(TestTensor::new(&format!("{prefix}.mlp_ln.weight"), &[n], 0));
            tensors.push(TestTensor::new(&format!("{prefix}.mlp_ln.bias"), &[n], 0));
        };
        for layer in 0..dims.n_audio_layer {
            block(&mut tensors, &format!("encoder.blocks.{layer}"), &["attn"]);
        }
        tensors.push(TestTensor::new("encoder.ln_post.weight", &[n], 0));
        tensors.push(TestTensor::new("encoder.ln_post.bias", &[n], 0));
        tensors.push(TestTensor::new(
            "decoder.positional_embedding",
            &[448, n],
            0,
        ));
        tensors.push(TestTensor::new(
            "decoder.token_embedding.weight",
            &[dims.n_vocab, n],
            weight,
        ));
        for layer in 0..dims.n_text_layer {
            block(
                &mut tensors,
                &format!("decoder.blocks.{layer}"),
                &["attn", "cross_attn"],
            );
        }
        tensors.push(TestTensor::new("decoder.ln.weight", &[n], 0));
        tensors.push(TestTensor::new("decoder.ln.bias", &[n], 0));

        // The 256 single-byte tokens (including " ") and two words, like the synthetic models.
        let mut vocab: Vec<Vec<u8>> = (0..=255u8).map(|byte| vec![byte]).collect();
        vocab.push(b" hallo".to_vec());
        vocab.push(b" welt".to_vec());

        let (n_head, n_layer_a, n_layer_t) = (dims.n_head, dims.n_audio_layer, dims.n_text_layer);
        Self {
            hparams: [
                dims.n_vocab,
                1500,
                n,
                n_head,
                n_layer_a,
                448,
                n,
                n_head,
                n_layer_t,
                dims.n_mels,
                dims.ftype,
            ],
            filters: (dims.n_mels, 201),
            vocab,
            tensors,
        }
    }

    fn to_bytes(&self) -> (Vec<u8>, Layout) {
        let mut out = Vec::new();
        let mut layout = Layout::default();
        out.extend_from_slice(&GGML_MAGIC.to_le_bytes());
        for &value in &self.hparams {
            put_i32(&mut out, value);
        }
        put_i32(&mut out, self.filters.0);
        put_i32(&mut out, self.filters.1);
        out.resize(
            out.len() + 4 * (self.filters.0 * self.filters.1) as usize,
            0,
        );
        layout.vocab_start = out.len();
        put_i32(&mut out, self.vocab.len() as i32);
        for token in &self.vocab {
            layout.token_len_offsets.push(out.len());
            put_i32(&mut out, token.len() as i32);
            out.extend_from_slice(token);
        }
        write_records(&mut out, &self.tensors, &mut layout);
        (out, layout)
    }
}

fn valid_whisper() -> (Vec<u8>, Layout) {
    TestWhisper::new(&Dims::default()).to_bytes()
}

fn temp_file(bytes: &[u8]) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().expect("create temp file");
    file.write_all(bytes).expect("write temp file");
    file.flush().expect("flush temp file");
    file
}

fn check_whisper(bytes: &[u8]) -> Result<WhisperModelInfo, ModelFileError> {
    let file = temp_file(bytes);
    validate_whisper_model(file.path())
}

fn check_vad(bytes: &[u8]) -> Result<VadModelInfo, ModelFileError> {
    let file = temp_file(bytes);
    validate_vad_model(file.path())
}

fn patch_i32(bytes: &mut [u8], offset: usize, value: i32) {
    bytes[offset..offset + 4].copy_from_slice(&value.to_le_bytes());
}

/// Offset of hparam `index` (0 = n_vocab ... 10 = ftype).
fn hparam_offset(index: usize) -> usize {
    4 + 4 * index
}

macro_rules! assert_err {
    ($result:expr, $pattern:pat $(if $guard:expr)?) => {
        match $result {
            Err($pattern) $(if $guard)? => {}
            other => panic!("expected Err({}), got {:?}", stringify!($pattern), other),
        }
    };
}

fn truncated_inside(result: Result<WhisperModelInfo, ModelFileError>, needle: &str) {
    assert_err!(result, ModelFileError::Truncated { ref what, .. } if what.contains(needle));
}

// --- valid whisper files -------------------------------------------------------------------

#[test]
fn valid_f16_model_passes_with_its_facts() {
    let (bytes, layout) = valid_whisper();
    let info = check_whisper(&bytes).expect("valid model");
    assert_eq!(
        info,
        WhisperModelInfo {
            n_vocab: 51865,
            n_audio_ctx: 1500,
            n_audio_state: 8,
            n_audio_head: 2,
            n_audio_layer: 1,
            n_text_ctx: 448,
            n_text_state: 8,
            n_text_head: 2,
            n_text_layer: 1,
            n_mels: 80,
            ftype: 1,
            n_tensors: 50,
            file_bytes: bytes.len() as u64,
        }
    );
    assert_eq!(layout.records.len(), 50);
    assert!(info.is_multilingual());
    assert_eq!(info.size_name(), "unknown");
}

#[test]
fn conv_weights_are_3d_f16_like_real_files() {
    let model = TestWhisper::new(&Dims::default());
    let conv = model
        .tensors
        .iter()
        .find(|t| t.name == "encoder.conv1.weight")
        .expect("conv1");
    assert_eq!((conv.ne.as_slice(), conv.ttype), (&[3, 80, 8][..], 1));
    let bias = model
        .tensors
        .iter()
        .find(|t| t.name == "encoder.conv1.bias")
        .expect("bias");
    assert_eq!((bias.ne.as_slice(), bias.ttype), (&[1, 8][..], 0));
    check_whisper(&model.to_bytes().0).expect("valid model");
}

#[test]
fn valid_f32_model_passes() {
    let dims = Dims {
        ftype: 0,
        ..Dims::default()
    };
    let info = check_whisper(&TestWhisper::new(&dims).to_bytes().0).expect("valid f32 model");
    assert_eq!(info.ftype, 0);
}

#[test]
fn f32_model_with_f16_conv_weights_is_rejected() {
    let mut model = TestWhisper::new(&Dims {
        ftype: 0,
        ..Dims::default()
    });
    let conv = model
        .tensors
        .iter_mut()
        .find(|t| t.name == "encoder.conv2.weight")
        .expect("conv2");
    *conv = TestTensor::new("encoder.conv2.weight", &[8, 8, 3], 1);
    assert_err!(
        check_whisper(&model.to_bytes().0),
        ModelFileError::WrongTensorType {
            found: "f16",
            expected: "f32",
            ..
        }
    );
}

#[test]
fn quantized_q8_0_model_passes() {
    for ftype in [7, 1007] {
        let dims = Dims {
            n_state: 32,
            ftype,
            ..Dims::default()
        };
        let info = check_whisper(&TestWhisper::new(&dims).to_bytes().0).expect("valid q8_0 model");
        assert_eq!(info.ftype, ftype);
    }
}

#[test]
fn quantized_model_with_rows_not_filling_blocks_is_rejected() {
    // q4_0 packs rows in blocks of 32; n_state is 8.
    let (mut bytes, _) = valid_whisper();
    patch_i32(&mut bytes, hparam_offset(10), 2);
    assert_err!(
        check_whisper(&bytes),
        ModelFileError::InconsistentHparams(_)
    );
}

#[test]
fn english_only_and_large_v3_vocab_sizes_pass() {
    for (n_vocab, n_mels, multilingual) in [(51864, 80, false), (51866, 128, true)] {
        let dims = Dims {
            n_vocab,
            n_mels,
            n_audio_layer: 4,
            ..Dims::default()
        };
        let info = check_whisper(&TestWhisper::new(&dims).to_bytes().0).expect("valid model");
        assert_eq!(info.is_multilingual(), multilingual);
        assert_eq!(info.size_name(), "tiny");
        assert_eq!(info.n_tensors, 11 + 15 * 4 + 24);
    }
}

#[test]
fn size_names_follow_the_encoder_depth() {
    let (bytes, _) = valid_whisper();
    let mut info = check_whisper(&bytes).expect("valid model");
    for (layers, name) in [
        (4, "tiny"),
        (6, "base"),
        (12, "small"),
        (24, "medium"),
        (32, "large"),
        (5, "unknown"),
    ] {
        info.n_audio_layer = layers;
        assert_eq!(info.size_name(), name);
    }
}

#[test]
fn tensors_with_padding_dims_pass_like_in_the_loader() {
    // The loader pads ne to 4 with 1s, so [8] and [8, 1] are the same shape.
    let mut model = TestWhisper::new(&Dims::default());
    let ln = model
        .tensors
        .iter_mut()
        .find(|t| t.name == "decoder.ln.bias")
        .expect("ln");
    ln.ne = vec![8, 1, 1];
    check_whisper(&model.to_bytes().0).expect("padded shape");
}

#[test]
fn tensor_order_does_not_matter() {
    let mut model = TestWhisper::new(&Dims::default());
    model.tensors.reverse();
    check_whisper(&model.to_bytes().0).expect("reversed order");
}

// --- broken whisper files ------------------------------------------------------------------

#[test]
fn bad_magic_is_rejected() {
    let (mut bytes, _) = valid_whisper();
    bytes[..4].copy_from_slice(b"GGUF");
    assert_err!(
        check_whisper(&bytes),
        ModelFileError::BadMagic { found: 0x4655_4747 }
    );
}

#[test]
fn empty_file_nonexistent_path_and_directory_are_rejected() {
    assert_err!(check_whisper(&[]), ModelFileError::Empty);
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("missing.bin");
    assert_err!(validate_whisper_model(&missing), ModelFileError::Io(ref e) if e.kind() == io::ErrorKind::NotFound);
    assert_err!(validate_vad_model(&missing), ModelFileError::Io(_));
    assert_err!(
        validate_whisper_model(dir.path()),
        ModelFileError::NotARegularFile
    );
    #[cfg(unix)]
    assert_err!(
        validate_vad_model(Path::new("/dev/null")),
        ModelFileError::NotARegularFile
    );
}

#[test]
fn truncated_header_is_rejected() {
    let (bytes, _) = valid_whisper();
    truncated_inside(check_whisper(&bytes[..2]), "magic");
    truncated_inside(check_whisper(&bytes[..4]), "hparams");
    truncated_inside(check_whisper(&bytes[..20]), "hparams");
    truncated_inside(check_whisper(&bytes[..48]), "mel filter header");
}

#[test]
fn truncated_filters_or_vocab_are_rejected() {
    let (bytes, layout) = valid_whisper();
    truncated_inside(check_whisper(&bytes[..48 + 8 + 100]), "mel filters");
    truncated_inside(
        check_whisper(&bytes[..layout.vocab_start + 2]),
        "vocab size",
    );
    truncated_inside(
        check_whisper(&bytes[..layout.token_len_offsets[17] + 2]),
        "vocab token 17",
    );
}

#[test]
fn file_ending_right_after_the_vocab_is_rejected() {
    let (bytes, layout) = valid_whisper();
    assert_err!(
        check_whisper(&bytes[..layout.tensors_start]),
        ModelFileError::NoTensors
    );
}

#[test]
fn truncated_tensors_are_rejected() {
    let (bytes, layout) = valid_whisper();
    let (middle, start, data, end) = &layout.records[layout.records.len() / 2];
    truncated_inside(
        check_whisper(&bytes[..(data + end) / 2]),
        &format!("tensor `{middle}`"),
    );
    truncated_inside(
        check_whisper(&bytes[..start + 5]),
        "the header of tensor #26",
    );
    let (last, _, data, end) = layout.records.last().expect("records");
    truncated_inside(
        check_whisper(&bytes[..(data + end) / 2]),
        &format!("tensor `{last}`"),
    );
    let err = check_whisper(&bytes[..bytes.len() - 1]).expect_err("missing last byte");
    assert_eq!(
        err.to_string(),
        format!(
            "truncated inside tensor `{last}` (the file ends at byte {})",
            bytes.len() - 1
        )
    );
    // Cut exactly between two records: the rest is missing.
    let (_, next_start, _, _) = &layout.records[10];
    assert_err!(
        check_whisper(&bytes[..*next_start]),
        ModelFileError::MissingTensors {
            present: 10,
            expected: 50,
            ..
        }
    );
}

#[test]
fn trailing_bytes_are_rejected() {
    let (mut bytes, _) = valid_whisper();
    bytes.push(0);
    assert_err!(check_whisper(&bytes), ModelFileError::TrailingBytes(1));
    bytes.extend_from_slice(&[0xAB; 40]);
    let err = check_whisper(&bytes).expect_err("junk");
    assert_eq!(err.to_string(), "41 bytes after the last tensor");
}

#[test]
fn bad_ftypes_are_rejected() {
    for ftype in [99, 4, 5, 6, 26, -1, i32::MIN] {
        let (mut bytes, _) = valid_whisper();
        patch_i32(&mut bytes, hparam_offset(10), ftype);
        assert_err!(check_whisper(&bytes), ModelFileError::UnsupportedFtype(f) if f == ftype);
    }
    let (mut bytes, _) = valid_whisper();
    patch_i32(&mut bytes, hparam_offset(10), 99);
    assert_eq!(
        check_whisper(&bytes).expect_err("ftype 99").to_string(),
        "unsupported ftype 99 (ggml has no weight type for it)"
    );
}

#[test]
fn out_of_range_hparams_are_rejected() {
    let cases: [(usize, i32, &str); 12] = [
        (0, 2_000_000_000, "n_vocab"),
        (0, 51867, "n_vocab"),
        (0, 1000, "n_vocab"),
        (1, 1499, "n_audio_ctx"),
        (2, 0, "n_audio_state"),
        (3, -2, "n_audio_head"),
        (4, -1, "n_audio_layer"),
        (4, 0, "n_audio_layer"),
        (4, 65, "n_audio_layer"),
        (5, i32::MAX, "n_text_ctx"),
        (8, -1, "n_text_layer"),
        (9, 100, "n_mels"),
    ];
    for (index, value, hparam) in cases {
        let (mut bytes, _) = valid_whisper();
        patch_i32(&mut bytes, hparam_offset(index), value);
        assert_err!(
            check_whisper(&bytes),
            ModelFileError::HparamOutOfRange { name, value: v, .. } if name == hparam && v == value
        );
    }
    let (mut bytes, _) = valid_whisper();
    patch_i32(&mut bytes, hparam_offset(0), 2_000_000_000);
    assert_eq!(
        check_whisper(&bytes).expect_err("n_vocab").to_string(),
        "hparam n_vocab = 2000000000 is out of range (expected 51864, 51865 or 51866)"
    );
}

#[test]
fn inconsistent_hparams_are_rejected() {
    // n_text_state != n_audio_state; then a head count that does not divide the state.
    for (index, value) in [(6, 16), (3, 3), (7, 5)] {
        let (mut bytes, _) = valid_whisper();
        patch_i32(&mut bytes, hparam_offset(index), value);
        assert_err!(
            check_whisper(&bytes),
            ModelFileError::InconsistentHparams(_)
        );
    }
}

#[test]
fn bad_mel_filters_are_rejected() {
    for filters in [(40, 201), (80, 200), (128, 201)] {
        let mut model = TestWhisper::new(&Dims::default());
        model.filters = filters;
        assert_err!(
            check_whisper(&model.to_bytes().0),
            ModelFileError::BadMelFilters { n_mel, n_fft, expected_mel: 80 } if (n_mel, n_fft) == filters
        );
    }
}

#[test]
fn bad_vocab_counts_are_rejected() {
    for count in [51866, -1, i32::MAX] {
        let (mut bytes, layout) = valid_whisper();
        patch_i32(&mut bytes, layout.vocab_start, count);
        assert_err!(check_whisper(&bytes), ModelFileError::BadVocabCount { count: c, .. } if c == count);
    }
}

#[test]
fn huge_vocab_token_is_rejected() {
    let (mut bytes, layout) = valid_whisper();
    patch_i32(&mut bytes, layout.token_len_offsets[17], 0x7fff_ffff);
    let err = check_whisper(&bytes).expect_err("huge token");
    assert!(matches!(
        err,
        ModelFileError::VocabTokenTooLong {
            index: 17,
            len: 0x7fff_ffff
        }
    ));
    assert_eq!(
        err.to_string(),
        "vocab token 17 is 2147483647 bytes long (max 128)"
    );
}

#[test]
fn vocab_without_a_space_is_rejected() {
    let mut model = TestWhisper::new(&Dims::default());
    model.vocab.retain(|token| token != b" ");
    assert_err!(
        check_whisper(&model.to_bytes().0),
        ModelFileError::NoSpaceToken
    );
    // Empty tokens are allowed (real multilingual files have one).
    let mut model = TestWhisper::new(&Dims::default());
    model.vocab.push(Vec::new());
    check_whisper(&model.to_bytes().0).expect("empty token");
}

#[test]
fn unknown_tensor_name_is_rejected() {
    let mut model = TestWhisper::new(&Dims::default());
    model.tensors[7].name = "encoder.blocks.0.attn.bogus.weight".into();
    assert_err!(
        check_whisper(&model.to_bytes().0),
        ModelFileError::UnknownTensor { ref name } if name == "encoder.blocks.0.attn.bogus.weight"
    );
    // Names from the file are escaped in the message.
    let mut model = TestWhisper::new(&Dims::default());
    model.tensors[7].name = "bad\nname".into();
    assert_err!(
        check_whisper(&model.to_bytes().0),
        ModelFileError::UnknownTensor { ref name } if name == "bad\\nname"
    );
    // A layer the hparams do not have.
    let mut model = TestWhisper::new(&Dims::default());
    model.tensors[7].name = model.tensors[7].name.replace("blocks.0", "blocks.1");
    assert_err!(
        check_whisper(&model.to_bytes().0),
        ModelFileError::UnknownTensor { .. }
    );
}

#[test]
fn duplicated_tensor_is_rejected() {
    // Same record count as a valid file: the loader's count check would pass.
    let mut model = TestWhisper::new(&Dims::default());
    let last = model.tensors.len() - 1;
    model.tensors[last] = model.tensors[0].clone();
    assert_err!(
        check_whisper(&model.to_bytes().0),
        ModelFileError::DuplicateTensor { ref name } if name == "encoder.positional_embedding"
    );
    // Appended after a complete model.
    let mut model = TestWhisper::new(&Dims::default());
    model.tensors.push(model.tensors[3].clone());
    assert_err!(
        check_whisper(&model.to_bytes().0),
        ModelFileError::DuplicateTensor { .. }
    );
}

#[test]
fn missing_tensor_is_rejected() {
    let mut model = TestWhisper::new(&Dims::default());
    let removed = model.tensors.remove(20);
    let err = check_whisper(&model.to_bytes().0).expect_err("missing tensor");
    assert!(
        matches!(err, ModelFileError::MissingTensors { present: 49, expected: 50, ref first_missing } if *first_missing == removed.name),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("missing tensors: 49 of 50 present")
    );
}

#[test]
fn wrong_tensor_shape_is_rejected() {
    let mut model = TestWhisper::new(&Dims::default());
    let conv = model
        .tensors
        .iter_mut()
        .find(|t| t.name == "encoder.conv1.weight")
        .expect("conv1");
    *conv = TestTensor::new("encoder.conv1.weight", &[8, 128, 3], 1);
    let err = check_whisper(&model.to_bytes().0).expect_err("wrong shape");
    assert!(
        matches!(err, ModelFileError::WrongTensorShape { .. }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "tensor `encoder.conv1.weight` has shape [3, 128, 8] but these hparams need [3, 80, 8]"
    );
}

#[test]
fn unknown_or_wrong_tensor_types_are_rejected() {
    for ttype in [4, 31, 40, 77, -1] {
        let mut model = TestWhisper::new(&Dims::default());
        model.tensors[2].ttype = ttype;
        assert_err!(
            check_whisper(&model.to_bytes().0),
            ModelFileError::UnknownTensorType { ttype: t, .. } if t == ttype
        );
    }
    // i32 has the f32 element size, so the loader's size check would let it through.
    let mut model = TestWhisper::new(&Dims::default());
    model.tensors[2].ttype = 26;
    assert_err!(
        check_whisper(&model.to_bytes().0),
        ModelFileError::WrongTensorType { found: "i32", .. }
    );
}

#[test]
fn bad_tensor_headers_are_rejected() {
    for n_dims in [5, -1, i32::MAX] {
        let (mut bytes, layout) = valid_whisper();
        patch_i32(&mut bytes, layout.records[3].1, n_dims);
        assert_err!(check_whisper(&bytes), ModelFileError::BadTensorDims { number: 4, n_dims: d } if d == n_dims);
    }
    for len in [0, -5, 129, i32::MAX] {
        let (mut bytes, layout) = valid_whisper();
        patch_i32(&mut bytes, layout.records[3].1 + 4, len);
        assert_err!(check_whisper(&bytes), ModelFileError::BadTensorNameLength { number: 4, len: l } if l == len);
    }
}

/// Cutting a valid file anywhere must give an error, never a panic or an Ok.
#[test]
fn every_truncation_is_rejected() {
    let (bytes, layout) = valid_whisper();
    let mut cuts: Vec<usize> = (0..700).chain((0..bytes.len()).step_by(997)).collect();
    for (_, start, data, end) in &layout.records {
        cuts.extend((*start..*data).chain([data + 1, end - 1]));
    }
    cuts.sort_unstable();
    cuts.dedup();
    let mut file = temp_file(&bytes);
    for &cut in cuts.iter().rev() {
        file.as_file_mut().set_len(cut as u64).expect("truncate");
        let result = validate_whisper_model(file.path());
        assert!(result.is_err(), "cut at {cut} passed");
    }
}

/// Overwriting header bytes with extreme values must never panic.
#[test]
fn corrupted_header_bytes_never_panic() {
    let (bytes, layout) = valid_whisper();
    let mut positions: Vec<usize> = (0..56).collect();
    positions.extend(layout.vocab_start..layout.vocab_start + 4);
    for offset in layout.token_len_offsets.iter().take(8) {
        positions.extend(*offset..offset + 4);
    }
    for (_, start, data, _) in layout.records.iter().take(6) {
        positions.extend(*start..*data);
    }
    let mut file = temp_file(&bytes);
    for &position in &positions {
        for value in [0x00, 0x01, 0x7f, 0x80, 0xff] {
            let write = |file: &mut tempfile::NamedTempFile, byte: u8| {
                file.seek(SeekFrom::Start(position as u64)).expect("seek");
                file.write_all(&[byte]).expect("write");
                file.flush().expect("flush");
            };
            write(&mut file, value);
            // Some changes are harmless (another head count); the point is not panicking.
            let _ = validate_whisper_model(file.path());
            write(&mut file, bytes[position]);
        }
    }
}

// --- VAD files -------------------------------------------------------------------------------

/// The header values after the model type: version, n_window, n_context, n_encoder_layers, the
/// encoder triples, LSTM sizes and final conv, as `convert-silero-vad-to-ggml.py` writes them.
fn silero_header() -> Vec<i32> {
    vec![
        5, 1, 2, 512, 64, 4, 129, 128, 3, 128, 64, 3, 64, 64, 3, 64, 128, 3, 128, 128, 128, 1,
    ]
}

fn silero_tensors() -> Vec<TestTensor> {
    let mut tensors = Vec::new();
    for (layer, (cin, cout)) in [(129, 128), (128, 64), (64, 64), (64, 128)]
        .into_iter()
        .enumerate()
    {
        let prefix = format!("_model.encoder.{layer}.reparam_conv");
        tensors.push(TestTensor::new(
            &format!("{prefix}.weight"),
            &[cout, cin, 3],
            1,
        ));
        tensors.push(TestTensor::new(&format!("{prefix}.bias"), &[cout], 0));
    }
    for name in ["weight_ih", "weight_hh"] {
        tensors.push(TestTensor::new(
            &format!("_model.decoder.rnn.{name}"),
            &[512, 128],
            0,
        ));
    }
    for name in ["bias_ih", "bias_hh"] {
        tensors.push(TestTensor::new(
            &format!("_model.decoder.rnn.{name}"),
            &[512],
            0,
        ));
    }
    // The converter squeezes (1, 128, 1) to (128,) and the (1,) bias to a 0-dim tensor.
    tensors.push(TestTensor::new(
        "_model.decoder.decoder.2.weight",
        &[128],
        1,
    ));
    tensors.push(TestTensor::new("_model.decoder.decoder.2.bias", &[], 0));
    tensors.push(TestTensor::new(
        "_model.stft.forward_basis_buffer",
        &[258, 1, 256],
        1,
    ));
    tensors
}

fn vad_bytes(model_type: &[u8], header: &[i32], tensors: &[TestTensor]) -> (Vec<u8>, Layout) {
    let mut out = Vec::new();
    let mut layout = Layout::default();
    out.extend_from_slice(&GGML_MAGIC.to_le_bytes());
    put_i32(&mut out, model_type.len() as i32);
    out.extend_from_slice(model_type);
    for &value in header {
        put_i32(&mut out, value);
    }
    write_records(&mut out, tensors, &mut layout);
    (out, layout)
}

fn valid_vad() -> (Vec<u8>, Layout) {
    vad_bytes(b"silero-16k", &silero_header(), &silero_tensors())
}

#[test]
fn valid_vad_model_passes() {
    let (bytes, _) = valid_vad();
    let info = check_vad(&bytes).expect("valid VAD model");
    assert_eq!(
        info,
        VadModelInfo {
            model_type: "silero-16k".into(),
            n_tensors: 15,
            file_bytes: bytes.len() as u64,
        }
    );
}

#[test]
fn truncated_vad_models_are_rejected() {
    let (bytes, layout) = valid_vad();
    let vad_truncated = |len: usize| {
        assert_err!(check_vad(&bytes[..len]), ModelFileError::Truncated { .. });
    };
    for len in [3, 6, 10, 20, layout.tensors_start - 1, bytes.len() - 1] {
        vad_truncated(len);
    }
    let (_, _, data, end) = &layout.records[9];
    vad_truncated((data + end) / 2);
    assert_err!(
        check_vad(&bytes[..layout.tensors_start]),
        ModelFileError::NoTensors
    );
    let (_, start, _, _) = &layout.records[14];
    assert_err!(
        check_vad(&bytes[..*start]),
        ModelFileError::MissingTensors { present: 14, .. }
    );
}

#[test]
fn vad_with_wrong_layer_count_is_rejected() {
    for layers in [3, 5, 0, -1] {
        let mut header = silero_header();
        header[5] = layers;
        let (bytes, _) = vad_bytes(b"silero-16k", &header, &silero_tensors());
        assert_err!(
            check_vad(&bytes),
            ModelFileError::UnsupportedVadArchitecture { ref what, found, expected: 4 }
                if what == "n_encoder_layers" && found == layers
        );
    }
}

#[test]
fn vad_with_other_architecture_values_is_rejected() {
    for (index, value) in [
        (3, 0),
        (4, 32),
        (6, 130),
        (13, 5),
        (18, 64),
        (19, 64),
        (20, 64),
        (21, 2),
    ] {
        let mut header = silero_header();
        header[index] = value;
        let (bytes, _) = vad_bytes(b"silero-16k", &header, &silero_tensors());
        assert_err!(
            check_vad(&bytes),
            ModelFileError::UnsupportedVadArchitecture { .. }
        );
    }
}

#[test]
fn vad_with_bad_model_type_length_is_rejected() {
    for len in [0, -1, 129, i32::MAX] {
        let (mut bytes, _) = valid_vad();
        patch_i32(&mut bytes, 4, len);
        assert_err!(check_vad(&bytes), ModelFileError::BadVadModelTypeLength { len: l } if l == len);
    }
}

#[test]
fn vad_with_trailing_byte_is_rejected() {
    let (mut bytes, _) = valid_vad();
    bytes.push(7);
    assert_err!(check_vad(&bytes), ModelFileError::TrailingBytes(1));
}

#[test]
fn vad_with_wrong_tensors_is_rejected() {
    let mut tensors = silero_tensors();
    tensors[0] = TestTensor::new("_model.encoder.0.reparam_conv.weight", &[128, 129, 5], 1);
    assert_err!(
        check_vad(&vad_bytes(b"silero-16k", &silero_header(), &tensors).0),
        ModelFileError::WrongTensorShape { .. }
    );

    let mut tensors = silero_tensors();
    tensors[0].ttype = 0;
    tensors[0].data_bytes *= 2;
    assert_err!(
        check_vad(&vad_bytes(b"silero-16k", &silero_header(), &tensors).0),
        ModelFileError::WrongTensorType { .. }
    );

    let mut tensors = silero_tensors();
    tensors.remove(4);
    assert_err!(
        check_vad(&vad_bytes(b"silero-16k", &silero_header(), &tensors).0),
        ModelFileError::MissingTensors {
            present: 14,
            expected: 15,
            ..
        }
    );
}

#[test]
fn whisper_and_vad_files_are_not_mistaken_for_each_other() {
    let (vad, _) = valid_vad();
    assert!(check_whisper(&vad).is_err());
    let (whisper, _) = valid_whisper();
    assert!(check_vad(&whisper).is_err());
}
