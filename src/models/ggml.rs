//! Validation of whisper.cpp ggml model files (Whisper and Silero VAD) before whisper.cpp sees them.
//!
//! whisper.cpp 1.8.3 trusts its model files. A bad ftype hits a `GGML_ASSERT`, a negative layer
//! count or a huge vocab throws a C++ exception across the FFI boundary, a huge string length
//! allocates until the OOM killer comes, and a file cut short in its header "loads" and then aborts
//! at the first transcription. None of that can be caught in-process, so every model file goes
//! through these checks first. They mirror `whisper_model_load` and `whisper_vad_init_with_params`
//! (whisper.cpp 1.8.3, `src/whisper.cpp`) and seek past tensor data, so checking a 3 GB model reads
//! well under a megabyte.

use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

/// "ggml" read as a little-endian u32 (`GGML_FILE_MAGIC`).
const GGML_MAGIC: u32 = 0x6767_6d6c;

/// The only vocab sizes whisper.cpp's special-token arithmetic fits: English-only, multilingual,
/// large-v3. Any other value puts the timestamp tokens past the logits, or asks for a 101st
/// language name that does not exist (`whisper_lang_str` returns NULL).
const WHISPER_N_VOCAB: [i32; 3] = [51864, 51865, 51866];
/// Every Whisper checkpoint encodes 30 s as 1500 frames; the DTW code asserts
/// `n_frames <= 2 * n_audio_ctx` with 3000-frame windows, so a smaller value can abort.
const WHISPER_N_AUDIO_CTX: i32 = 1500;
/// Every Whisper checkpoint has 448 text positions.
const WHISPER_N_TEXT_CTX: i32 = 448;
/// Mel filter bins: 1 + WHISPER_N_FFT / 2 with a 400-sample FFT.
const WHISPER_N_FFT_BINS: i32 = 201;
/// Large models use 1280; the bound keeps every tensor's element count far inside i32, which
/// the loader multiplies in.
const MAX_STATE: i32 = 4096;
const MAX_LAYERS: i32 = 64;
/// Longer than any token in the GPT-2 and Whisper vocabularies.
const MAX_TOKEN_BYTES: u32 = 128;
/// The loader reads `ne[n_dims]` into an `int32_t ne[4]`: more than 4 overruns the stack.
const MAX_TENSOR_DIMS: i32 = 4;
const MAX_TENSOR_NAME_BYTES: i32 = 128;
const MAX_VAD_MODEL_TYPE_BYTES: i32 = 128;

/// Facts read from a validated whisper.cpp ggml model file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhisperModelInfo {
    pub n_vocab: i32,
    pub n_audio_ctx: i32,
    pub n_audio_state: i32,
    pub n_audio_head: i32,
    pub n_audio_layer: i32,
    pub n_text_ctx: i32,
    pub n_text_state: i32,
    pub n_text_head: i32,
    pub n_text_layer: i32,
    pub n_mels: i32,
    pub ftype: i32,
    pub n_tensors: usize,
    pub file_bytes: u64,
}

impl WhisperModelInfo {
    /// Whether the model knows languages other than English (`whisper_vocab::is_multilingual`).
    pub fn is_multilingual(&self) -> bool {
        self.n_vocab >= 51865
    }

    /// The size class whisper.cpp derives from the encoder depth (`g_model_name`).
    pub fn size_name(&self) -> &'static str {
        match self.n_audio_layer {
            4 => "tiny",
            6 => "base",
            12 => "small",
            24 => "medium",
            32 => "large",
            _ => "unknown",
        }
    }
}

/// Facts read from a validated whisper.cpp Silero VAD model file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VadModelInfo {
    pub model_type: String,
    pub n_tensors: usize,
    pub file_bytes: u64,
}

/// Why a model file must not be handed to whisper.cpp.
#[derive(Debug, thiserror::Error)]
pub enum ModelFileError {
    #[error("cannot read the model file: {0}")]
    Io(#[from] io::Error),
    #[error("not a regular file")]
    NotARegularFile,
    #[error("the file is empty")]
    Empty,
    #[error(
        "bad magic {found:#010x}: not a whisper.cpp ggml model (expected 0x67676d6c \"ggml\"; GGUF and PyTorch files are not supported)"
    )]
    BadMagic { found: u32 },
    #[error("truncated inside {what} (the file ends at byte {file_bytes})")]
    Truncated { what: String, file_bytes: u64 },
    #[error("hparam {name} = {value} is out of range (expected {expected})")]
    HparamOutOfRange {
        name: &'static str,
        value: i32,
        expected: String,
    },
    #[error("inconsistent hparams: {0}")]
    InconsistentHparams(String),
    #[error("unsupported ftype {0} (ggml has no weight type for it)")]
    UnsupportedFtype(i32),
    #[error("mel filter bank is {n_mel}x{n_fft}, expected {expected_mel}x201 (n_mels x FFT bins)")]
    BadMelFilters {
        n_mel: i32,
        n_fft: i32,
        expected_mel: i32,
    },
    #[error("vocab has {count} tokens, expected 0..={n_vocab} (n_vocab)")]
    BadVocabCount { count: i32, n_vocab: i32 },
    #[error("vocab token {index} is {len} bytes long (max 128)")]
    VocabTokenTooLong { index: i32, len: u32 },
    #[error("vocab has no single-space token; whisper.cpp aborts at the first decode without it")]
    NoSpaceToken,
    #[error("tensor #{number} has {n_dims} dimensions (expected 0..=4)")]
    BadTensorDims { number: usize, n_dims: i32 },
    #[error("tensor #{number} has a name of {len} bytes (expected 1..=128)")]
    BadTensorNameLength { number: usize, len: i32 },
    #[error("unknown tensor `{name}` (not part of a model with these hparams)")]
    UnknownTensor { name: String },
    #[error("tensor `{name}` appears more than once")]
    DuplicateTensor { name: String },
    #[error("tensor `{name}` has unknown ggml type {ttype}")]
    UnknownTensorType { name: String, ttype: i32 },
    #[error("tensor `{name}` has shape {} but these hparams need {}", shape(.found), shape(.expected))]
    WrongTensorShape {
        name: String,
        found: [i64; 4],
        expected: [i64; 4],
    },
    #[error("tensor `{name}` is stored as {found}, expected {expected}")]
    WrongTensorType {
        name: String,
        found: &'static str,
        expected: &'static str,
    },
    #[error(
        "tensor `{name}`: row length {row} is not a multiple of the {type_name} block size {block_size}"
    )]
    BlockSizeMismatch {
        name: String,
        row: i64,
        type_name: &'static str,
        block_size: u64,
    },
    #[error("no tensors after the header (whisper.cpp would run an uninitialised test model)")]
    NoTensors,
    #[error("missing tensors: {present} of {expected} present (first missing: `{first_missing}`)")]
    MissingTensors {
        present: usize,
        expected: usize,
        first_missing: String,
    },
    #[error("{0} bytes after the last tensor")]
    TrailingBytes(u64),
    #[error("VAD model type name is {len} bytes long (expected 1..=128)")]
    BadVadModelTypeLength { len: i32 },
    #[error(
        "VAD {what} = {found}, expected {expected} (whisper.cpp only runs the Silero v5 16 kHz architecture)"
    )]
    UnsupportedVadArchitecture {
        what: String,
        found: i32,
        expected: i32,
    },
}

/// `ne` in ggml order with the trailing 1s dropped, e.g. `[3, 80, 384]`.
fn shape(ne: &[i64; 4]) -> String {
    let rank = ne.iter().rposition(|&d| d != 1).map_or(1, |i| i + 1);
    format!("{:?}", &ne[..rank])
}

/// A ggml tensor type with its block layout (ggml.c `type_traits`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct GgmlType {
    id: i32,
    name: &'static str,
    block_size: u64,
    type_size: u64,
}

const fn ty(id: i32, name: &'static str, block_size: u64, type_size: u64) -> GgmlType {
    GgmlType {
        id,
        name,
        block_size,
        type_size,
    }
}

const F32: GgmlType = ty(0, "f32", 1, 4);
const F16: GgmlType = ty(1, "f16", 1, 2);

/// ggml 0.9 (whisper.cpp 1.8.3) types. Ids 4, 5, 31-33 and 36-38 were removed and have a zero
/// block size there; ids outside 0..40 index past the table in `ggml_type_size`.
const GGML_TYPES: [GgmlType; 32] = [
    F32,
    F16,
    ty(2, "q4_0", 32, 18),
    ty(3, "q4_1", 32, 20),
    ty(6, "q5_0", 32, 22),
    ty(7, "q5_1", 32, 24),
    ty(8, "q8_0", 32, 34),
    ty(9, "q8_1", 32, 36),
    ty(10, "q2_K", 256, 84),
    ty(11, "q3_K", 256, 110),
    ty(12, "q4_K", 256, 144),
    ty(13, "q5_K", 256, 176),
    ty(14, "q6_K", 256, 210),
    ty(15, "q8_K", 256, 292),
    ty(16, "iq2_xxs", 256, 66),
    ty(17, "iq2_xs", 256, 74),
    ty(18, "iq3_xxs", 256, 98),
    ty(19, "iq1_s", 256, 50),
    ty(20, "iq4_nl", 32, 18),
    ty(21, "iq3_s", 256, 110),
    ty(22, "iq2_s", 256, 82),
    ty(23, "iq4_xs", 256, 136),
    ty(24, "i8", 1, 1),
    ty(25, "i16", 1, 2),
    ty(26, "i32", 1, 4),
    ty(27, "i64", 1, 8),
    ty(28, "f64", 1, 8),
    ty(29, "iq1_m", 256, 56),
    ty(30, "bf16", 1, 2),
    ty(34, "tq1_0", 256, 54),
    ty(35, "tq2_0", 256, 66),
    ty(39, "mxfp4", 32, 17),
];

fn ggml_type(id: i32) -> Option<GgmlType> {
    GGML_TYPES.iter().copied().find(|t| t.id == id)
}

/// The weight type for a file's ftype, as `ggml_ftype_to_ggml_type` maps it after whisper.cpp's
/// `ftype %= 1000` (the thousands are the quantization version). Every value not listed there
/// maps to `GGML_TYPE_COUNT`, which the `GGML_ASSERT` in that function turns into an abort.
fn weight_type_for_ftype(ftype: i32) -> Option<GgmlType> {
    if ftype < 0 {
        return None;
    }
    let type_id = match ftype % 1000 {
        0 => 0,
        1 => 1,
        2 => 2,
        3 => 3,
        7 => 8,
        8 => 6,
        9 => 7,
        10..=14 => ftype % 1000,
        15 => 16,
        16 => 17,
        17 => 18,
        18 => 19,
        19 => 20,
        20 => 21,
        21 => 22,
        22 => 23,
        23 => 29,
        24 => 30,
        25 => 39,
        _ => return None,
    };
    ggml_type(type_id)
}

/// A tensor the loader creates for the file's hparams; `ne` is in ggml order, padded with 1s.
#[derive(Debug)]
struct ExpectedTensor {
    name: String,
    ne: [i64; 4],
    ggml_type: GgmlType,
}

impl ExpectedTensor {
    fn new(name: String, dims: &[i32], ggml_type: GgmlType) -> Self {
        let mut ne = [1i64; 4];
        for (slot, &dim) in ne.iter_mut().zip(dims) {
            *slot = i64::from(dim);
        }
        Self {
            name,
            ne,
            ggml_type,
        }
    }

    /// Bytes of tensor data that follow the record header (what `ggml_nbytes` gives the loader).
    fn data_bytes(&self) -> Result<u64, ModelFileError> {
        let block_size = self.ggml_type.block_size;
        let row = u64::try_from(self.ne[0])
            .ok()
            .filter(|&row| row % block_size == 0);
        let Some(row) = row else {
            return Err(ModelFileError::BlockSizeMismatch {
                name: self.name.clone(),
                row: self.ne[0],
                type_name: self.ggml_type.name,
                block_size,
            });
        };
        let mut bytes = Some(row / block_size * self.ggml_type.type_size);
        for &dim in &self.ne[1..] {
            bytes = bytes
                .zip(u64::try_from(dim).ok())
                .and_then(|(b, d)| b.checked_mul(d));
        }
        // Unreachable with validated hparams; an absurd size then reads as a truncated file.
        Ok(bytes.unwrap_or(u64::MAX))
    }
}

/// Sequential reader that knows the file length, so truncation is found before reading, and
/// tensor data is skipped instead of read.
struct ModelReader {
    inner: BufReader<File>,
    pos: u64,
    len: u64,
}

impl ModelReader {
    fn open(path: &Path) -> Result<Self, ModelFileError> {
        // Checked before opening: opening a FIFO would block until a writer shows up.
        if !std::fs::metadata(path)?.is_file() {
            return Err(ModelFileError::NotARegularFile);
        }
        let file = File::open(path)?;
        let len = file.metadata()?.len();
        if len == 0 {
            return Err(ModelFileError::Empty);
        }
        Ok(Self {
            inner: BufReader::with_capacity(64 * 1024, file),
            pos: 0,
            len,
        })
    }

    fn remaining(&self) -> u64 {
        self.len.saturating_sub(self.pos)
    }

    fn ensure(&self, bytes: u64, what: fmt::Arguments<'_>) -> Result<(), ModelFileError> {
        if bytes > self.remaining() {
            return Err(ModelFileError::Truncated {
                what: what.to_string(),
                file_bytes: self.len,
            });
        }
        Ok(())
    }

    fn read_array<const N: usize>(
        &mut self,
        what: fmt::Arguments<'_>,
    ) -> Result<[u8; N], ModelFileError> {
        self.ensure(N as u64, what)?;
        let mut buf = [0u8; N];
        self.inner.read_exact(&mut buf)?;
        self.pos += N as u64;
        Ok(buf)
    }

    fn read_i32(&mut self, what: fmt::Arguments<'_>) -> Result<i32, ModelFileError> {
        self.read_array(what).map(i32::from_le_bytes)
    }

    fn read_u32(&mut self, what: fmt::Arguments<'_>) -> Result<u32, ModelFileError> {
        self.read_array(what).map(u32::from_le_bytes)
    }

    /// Reads `len` bytes; callers cap `len` first, and it is checked against the file size
    /// before anything is allocated.
    fn read_bytes(
        &mut self,
        len: usize,
        what: fmt::Arguments<'_>,
    ) -> Result<Vec<u8>, ModelFileError> {
        self.ensure(len as u64, what)?;
        let mut buf = vec![0u8; len];
        self.inner.read_exact(&mut buf)?;
        self.pos += len as u64;
        Ok(buf)
    }

    fn skip(&mut self, bytes: u64, what: fmt::Arguments<'_>) -> Result<(), ModelFileError> {
        self.ensure(bytes, what)?;
        // `bytes` fits in the file, and so in i64.
        let offset = i64::try_from(bytes).map_err(|_| io::Error::other("seek offset overflow"))?;
        self.inner.seek_relative(offset)?;
        self.pos += bytes;
        Ok(())
    }

    fn check_magic(&mut self) -> Result<(), ModelFileError> {
        let found = self.read_u32(format_args!("the magic number"))?;
        if found != GGML_MAGIC {
            return Err(ModelFileError::BadMagic { found });
        }
        Ok(())
    }
}

/// Checks a whisper.cpp ggml Whisper model without loading it; see the module docs for why.
pub fn validate_whisper_model(path: &Path) -> Result<WhisperModelInfo, ModelFileError> {
    let mut reader = ModelReader::open(path)?;
    reader.check_magic()?;

    let file_bytes = reader.len;
    let mut hparam = || reader.read_i32(format_args!("the hparams"));
    // Fields are evaluated in the order written, which is the file order.
    let mut info = WhisperModelInfo {
        n_vocab: hparam()?,
        n_audio_ctx: hparam()?,
        n_audio_state: hparam()?,
        n_audio_head: hparam()?,
        n_audio_layer: hparam()?,
        n_text_ctx: hparam()?,
        n_text_state: hparam()?,
        n_text_head: hparam()?,
        n_text_layer: hparam()?,
        n_mels: hparam()?,
        ftype: hparam()?,
        n_tensors: 0,
        file_bytes,
    };
    let weight_type = check_whisper_hparams(&info)?;

    // Mel filters: `whisper_encode` copies `filters.n_mel` rows into an input sized for n_mels,
    // and the FFT code assumes 201 bins; nothing in whisper.cpp compares them.
    let filter_n_mel = reader.read_i32(format_args!("the mel filter header"))?;
    let filter_n_fft = reader.read_i32(format_args!("the mel filter header"))?;
    if filter_n_mel != info.n_mels || filter_n_fft != WHISPER_N_FFT_BINS {
        return Err(ModelFileError::BadMelFilters {
            n_mel: filter_n_mel,
            n_fft: filter_n_fft,
            expected_mel: info.n_mels,
        });
    }
    let filter_bytes =
        4 * u64::from(info.n_mels.unsigned_abs()) * u64::from(WHISPER_N_FFT_BINS.unsigned_abs());
    reader.skip(filter_bytes, format_args!("the mel filters"))?;

    check_vocab(&mut reader, info.n_vocab)?;

    let expected = whisper_tensors(&info, weight_type);
    info.n_tensors = check_tensors(&mut reader, &expected)?;
    Ok(info)
}

/// Range and consistency checks on the hparams; returns the weight type for the ftype.
fn check_whisper_hparams(info: &WhisperModelInfo) -> Result<GgmlType, ModelFileError> {
    fn in_range(
        name: &'static str,
        value: i32,
        range: std::ops::RangeInclusive<i32>,
    ) -> Result<(), ModelFileError> {
        if range.contains(&value) {
            return Ok(());
        }
        let expected = if range.start() == range.end() {
            range.start().to_string()
        } else {
            format!("{}..={}", range.start(), range.end())
        };
        Err(ModelFileError::HparamOutOfRange {
            name,
            value,
            expected,
        })
    }

    if !WHISPER_N_VOCAB.contains(&info.n_vocab) {
        return Err(ModelFileError::HparamOutOfRange {
            name: "n_vocab",
            value: info.n_vocab,
            expected: "51864, 51865 or 51866".to_string(),
        });
    }
    in_range(
        "n_audio_ctx",
        info.n_audio_ctx,
        WHISPER_N_AUDIO_CTX..=WHISPER_N_AUDIO_CTX,
    )?;
    in_range("n_audio_state", info.n_audio_state, 1..=MAX_STATE)?;
    in_range("n_audio_head", info.n_audio_head, 1..=MAX_STATE)?;
    in_range("n_audio_layer", info.n_audio_layer, 1..=MAX_LAYERS)?;
    in_range(
        "n_text_ctx",
        info.n_text_ctx,
        WHISPER_N_TEXT_CTX..=WHISPER_N_TEXT_CTX,
    )?;
    in_range("n_text_state", info.n_text_state, 1..=MAX_STATE)?;
    in_range("n_text_head", info.n_text_head, 1..=MAX_STATE)?;
    in_range("n_text_layer", info.n_text_layer, 1..=MAX_LAYERS)?;
    if info.n_mels != 80 && info.n_mels != 128 {
        return Err(ModelFileError::HparamOutOfRange {
            name: "n_mels",
            value: info.n_mels,
            expected: "80 or 128".to_string(),
        });
    }

    // whisper.cpp only `assert()`s this, and release builds compile that out.
    if info.n_text_state != info.n_audio_state {
        return Err(ModelFileError::InconsistentHparams(format!(
            "n_text_state = {} differs from n_audio_state = {}",
            info.n_text_state, info.n_audio_state
        )));
    }
    for (state, head, which) in [
        (info.n_audio_state, info.n_audio_head, "audio"),
        (info.n_text_state, info.n_text_head, "text"),
    ] {
        if state % head != 0 {
            return Err(ModelFileError::InconsistentHparams(format!(
                "n_{which}_head = {head} does not divide n_{which}_state = {state}"
            )));
        }
    }

    let weight_type =
        weight_type_for_ftype(info.ftype).ok_or(ModelFileError::UnsupportedFtype(info.ftype))?;
    // ggml only `assert()`s that rows fill whole blocks, so a misfit would silently mis-size tensors.
    if u64::from(info.n_audio_state.unsigned_abs()) % weight_type.block_size != 0 {
        return Err(ModelFileError::InconsistentHparams(format!(
            "ftype {} stores weights as {} in blocks of {}, which does not divide n_audio_state = {}",
            info.ftype, weight_type.name, weight_type.block_size, info.n_audio_state
        )));
    }
    Ok(weight_type)
}

/// Walks the vocab: the count must fit n_vocab, every token must be short and complete, and the
/// token `" "` must exist (`whisper_process_logits` looks it up with `.at()`).
fn check_vocab(reader: &mut ModelReader, n_vocab: i32) -> Result<(), ModelFileError> {
    let count = reader.read_i32(format_args!("the vocab size"))?;
    if !(0..=n_vocab).contains(&count) {
        return Err(ModelFileError::BadVocabCount { count, n_vocab });
    }
    let mut has_space = false;
    for index in 0..count {
        let len = reader.read_u32(format_args!("vocab token {index}"))?;
        if len > MAX_TOKEN_BYTES {
            return Err(ModelFileError::VocabTokenTooLong { index, len });
        }
        if len == 1 {
            let [byte] = reader.read_array(format_args!("vocab token {index}"))?;
            has_space |= byte == b' ';
        } else {
            reader.skip(u64::from(len), format_args!("vocab token {index}"))?;
        }
    }
    if !has_space {
        return Err(ModelFileError::NoSpaceToken);
    }
    Ok(())
}

/// One tensor of a whisper model file as whisper.cpp lays it out, for writers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayoutTensor {
    pub name: String,
    /// ggml order (the numpy shape reversed), as many dimensions as the record stores.
    pub ne: Vec<i64>,
    /// The ggml type id the loader expects (0 f32, 1 f16, quantized types above).
    pub ggml_type: i32,
}

/// Every tensor a whisper model with these hparams and `info.ftype` must hold (the loader
/// finds them by name, so their order is free).
pub fn whisper_layout(info: &WhisperModelInfo) -> Result<Vec<LayoutTensor>, ModelFileError> {
    let weight_type = check_whisper_hparams(info)?;
    Ok(whisper_tensors(info, weight_type)
        .into_iter()
        .map(|tensor| {
            let rank = tensor.ne.iter().rposition(|&d| d != 1).map_or(1, |i| i + 1);
            LayoutTensor {
                ne: tensor.ne[..rank].to_vec(),
                name: tensor.name,
                ggml_type: tensor.ggml_type.id,
            }
        })
        .collect())
}

/// The tensors `whisper_model_load` creates for these hparams, with their ggml shapes and types.
fn whisper_tensors(info: &WhisperModelInfo, weight_type: GgmlType) -> Vec<ExpectedTensor> {
    // Convolutions stay f16 in every non-f32 model (`vtype` in the loader).
    let conv_type = if weight_type == F32 { F32 } else { F16 };
    let n = info.n_audio_state;
    let mut tensors = Vec::new();
    let mut add = |name: String, dims: &[i32], ggml_type: GgmlType| {
        tensors.push(ExpectedTensor::new(name, dims, ggml_type));
    };

    add(
        "encoder.positional_embedding".into(),
        &[n, info.n_audio_ctx],
        F32,
    );
    add(
        "encoder.conv1.weight".into(),
        &[3, info.n_mels, n],
        conv_type,
    );
    add("encoder.conv1.bias".into(), &[1, n], F32);
    add("encoder.conv2.weight".into(), &[3, n, n], conv_type);
    add("encoder.conv2.bias".into(), &[1, n], F32);
    add("encoder.ln_post.weight".into(), &[n], F32);
    add("encoder.ln_post.bias".into(), &[n], F32);

    // Attention, MLP and their layer norms; the same in both stacks and in cross-attention.
    let mut add_block = |prefix: &str, attns: &[&str]| {
        let mut layer_norm = |name: &str| {
            add(format!("{prefix}.{name}.weight"), &[n], F32);
            add(format!("{prefix}.{name}.bias"), &[n], F32);
        };
        layer_norm("mlp_ln");
        for attn in attns {
            layer_norm(&format!("{attn}_ln"));
        }
        add(format!("{prefix}.mlp.0.weight"), &[n, 4 * n], weight_type);
        add(format!("{prefix}.mlp.0.bias"), &[4 * n], F32);
        add(format!("{prefix}.mlp.2.weight"), &[4 * n, n], weight_type);
        add(format!("{prefix}.mlp.2.bias"), &[n], F32);
        for attn in attns {
            for proj in ["query", "key", "value", "out"] {
                add(
                    format!("{prefix}.{attn}.{proj}.weight"),
                    &[n, n],
                    weight_type,
                );
                // The key projection has no bias in Whisper.
                if proj != "key" {
                    add(format!("{prefix}.{attn}.{proj}.bias"), &[n], F32);
                }
            }
        }
    };
    for layer in 0..info.n_audio_layer {
        add_block(&format!("encoder.blocks.{layer}"), &["attn"]);
    }
    for layer in 0..info.n_text_layer {
        add_block(&format!("decoder.blocks.{layer}"), &["attn", "cross_attn"]);
    }

    add(
        "decoder.positional_embedding".into(),
        &[n, info.n_text_ctx],
        F32,
    );
    add(
        "decoder.token_embedding.weight".into(),
        &[n, info.n_vocab],
        weight_type,
    );
    add("decoder.ln.weight".into(), &[n], F32);
    add("decoder.ln.bias".into(), &[n], F32);
    tensors
}

/// Walks the tensor records up to the end of the file. Every expected tensor must appear exactly
/// once, and the file must end right after the last one: the loader stops at the first short
/// header read and never notices a short data read, so trailing junk or a cut-off last tensor
/// would load silently.
fn check_tensors(
    reader: &mut ModelReader,
    expected: &[ExpectedTensor],
) -> Result<usize, ModelFileError> {
    let by_name: HashMap<&str, usize> = expected
        .iter()
        .enumerate()
        .map(|(index, tensor)| (tensor.name.as_str(), index))
        .collect();
    let mut seen = vec![false; expected.len()];
    let mut n_seen = 0;
    while reader.remaining() > 0 {
        let record_start = reader.pos;
        match read_tensor_record(reader, expected, &by_name, &seen, n_seen + 1) {
            Ok(index) => {
                seen[index] = true;
                n_seen += 1;
            }
            // Once every tensor is there, anything that does not name one again is junk.
            Err(
                ModelFileError::Truncated { .. }
                | ModelFileError::BadTensorDims { .. }
                | ModelFileError::BadTensorNameLength { .. }
                | ModelFileError::UnknownTensor { .. },
            ) if n_seen == expected.len() => {
                return Err(ModelFileError::TrailingBytes(reader.len - record_start));
            }
            Err(err) => return Err(err),
        }
    }
    if n_seen == 0 {
        return Err(ModelFileError::NoTensors);
    }
    if let Some(missing) = seen.iter().position(|&present| !present) {
        return Err(ModelFileError::MissingTensors {
            present: n_seen,
            expected: expected.len(),
            first_missing: expected[missing].name.clone(),
        });
    }
    Ok(n_seen)
}

/// Reads and checks one record (`i32 n_dims, name_len, ttype; i32 ne[n_dims]; name; data`) and
/// skips its data. Returns the index of the tensor in `expected`.
fn read_tensor_record(
    reader: &mut ModelReader,
    expected: &[ExpectedTensor],
    by_name: &HashMap<&str, usize>,
    seen: &[bool],
    number: usize,
) -> Result<usize, ModelFileError> {
    let header = format_args!("the header of tensor #{number}");
    let n_dims = reader.read_i32(header)?;
    let name_len = reader.read_i32(header)?;
    let ttype = reader.read_i32(header)?;
    // Real files use 0 dims (a squeezed 1-element VAD bias) up to 3; the loader pads to 4 with 1s.
    if !(0..=MAX_TENSOR_DIMS).contains(&n_dims) {
        return Err(ModelFileError::BadTensorDims { number, n_dims });
    }
    if !(1..=MAX_TENSOR_NAME_BYTES).contains(&name_len) {
        return Err(ModelFileError::BadTensorNameLength {
            number,
            len: name_len,
        });
    }
    let mut ne = [1i64; 4];
    for dim in ne.iter_mut().take(n_dims.unsigned_abs() as usize) {
        *dim = i64::from(reader.read_i32(header)?);
    }
    let name_bytes = reader.read_bytes(name_len.unsigned_abs() as usize, header)?;
    let name = String::from_utf8_lossy(&name_bytes).into_owned();

    let Some(&index) = by_name.get(name.as_str()) else {
        // Escaped: the name comes from the file and ends up in logs.
        let name = name.escape_debug().to_string();
        return Err(ModelFileError::UnknownTensor { name });
    };
    // The loader counts records, not distinct names: a duplicate plus a missing tensor passes.
    if seen[index] {
        return Err(ModelFileError::DuplicateTensor { name });
    }
    let want = &expected[index];
    // `ggml_type_size(ttype)` indexes a table without a bounds check.
    let Some(found_type) = ggml_type(ttype) else {
        return Err(ModelFileError::UnknownTensorType { name, ttype });
    };
    if ne != want.ne {
        return Err(ModelFileError::WrongTensorShape {
            name,
            found: ne,
            expected: want.ne,
        });
    }
    if found_type != want.ggml_type {
        return Err(ModelFileError::WrongTensorType {
            name,
            found: found_type.name,
            expected: want.ggml_type.name,
        });
    }
    let data_bytes = want.data_bytes()?;
    reader.skip(data_bytes, format_args!("tensor `{name}`"))?;
    Ok(index)
}

/// The one VAD architecture whisper.cpp implements: its graph hard-codes these channel counts,
/// uses `lstm_input_size` as the STFT stride and slices 4 STFT frames out of a 512-sample window.
const SILERO_N_WINDOW: i32 = 512;
const SILERO_N_CONTEXT: i32 = 64;
/// (in_channels, out_channels, kernel_size) of the 4 encoder convolutions.
const SILERO_ENCODER: [(i32, i32, i32); 4] =
    [(129, 128, 3), (128, 64, 3), (64, 64, 3), (64, 128, 3)];
const SILERO_LSTM_SIZE: i32 = 128;
const SILERO_FINAL_CONV: (i32, i32) = (128, 1);

/// Checks a whisper.cpp ggml Silero VAD model without loading it.
pub fn validate_vad_model(path: &Path) -> Result<VadModelInfo, ModelFileError> {
    let mut reader = ModelReader::open(path)?;
    reader.check_magic()?;

    let header = format_args!("the VAD header");
    let type_len = reader.read_i32(header)?;
    // The loader sizes a buffer with `str_len + 1` before reading.
    if !(1..=MAX_VAD_MODEL_TYPE_BYTES).contains(&type_len) {
        return Err(ModelFileError::BadVadModelTypeLength { len: type_len });
    }
    let type_bytes = reader.read_bytes(type_len.unsigned_abs() as usize, header)?;
    let model_type = String::from_utf8_lossy(&type_bytes).into_owned();
    // major, minor, patch: only logged.
    for _ in 0..3 {
        reader.read_i32(header)?;
    }

    let mut expect = |what: &dyn Fn() -> String, expected: i32| -> Result<(), ModelFileError> {
        let found = reader.read_i32(header)?;
        if found != expected {
            return Err(ModelFileError::UnsupportedVadArchitecture {
                what: what(),
                found,
                expected,
            });
        }
        Ok(())
    };
    // n_window divides the sample count in `whisper_vad_detect_speech`.
    expect(&|| "n_window".into(), SILERO_N_WINDOW)?;
    expect(&|| "n_context".into(), SILERO_N_CONTEXT)?;
    // The loader indexes layers 0..4 whatever the count says; a negative count throws.
    expect(&|| "n_encoder_layers".into(), SILERO_ENCODER.len() as i32)?;
    for (layer, (in_channels, out_channels, kernel)) in SILERO_ENCODER.into_iter().enumerate() {
        expect(
            &|| format!("encoder layer {layer} in_channels"),
            in_channels,
        )?;
        expect(
            &|| format!("encoder layer {layer} out_channels"),
            out_channels,
        )?;
        expect(&|| format!("encoder layer {layer} kernel_size"), kernel)?;
    }
    expect(&|| "lstm_input_size".into(), SILERO_LSTM_SIZE)?;
    expect(&|| "lstm_hidden_size".into(), SILERO_LSTM_SIZE)?;
    expect(&|| "final_conv_in".into(), SILERO_FINAL_CONV.0)?;
    expect(&|| "final_conv_out".into(), SILERO_FINAL_CONV.1)?;

    let expected = vad_tensors();
    let n_tensors = check_tensors(&mut reader, &expected)?;
    Ok(VadModelInfo {
        model_type,
        n_tensors,
        file_bytes: reader.len,
    })
}

/// The tensors `whisper_vad_init_with_params` creates, with their ggml shapes and types.
fn vad_tensors() -> Vec<ExpectedTensor> {
    let gates = 4 * SILERO_LSTM_SIZE;
    let mut tensors = vec![ExpectedTensor::new(
        "_model.stft.forward_basis_buffer".into(),
        &[256, 1, 258],
        F16,
    )];
    for (layer, (in_channels, out_channels, kernel)) in SILERO_ENCODER.into_iter().enumerate() {
        let prefix = format!("_model.encoder.{layer}.reparam_conv");
        tensors.push(ExpectedTensor::new(
            format!("{prefix}.weight"),
            &[kernel, in_channels, out_channels],
            F16,
        ));
        tensors.push(ExpectedTensor::new(
            format!("{prefix}.bias"),
            &[out_channels],
            F32,
        ));
    }
    for kind in ["ih", "hh"] {
        tensors.push(ExpectedTensor::new(
            format!("_model.decoder.rnn.weight_{kind}"),
            &[SILERO_LSTM_SIZE, gates],
            F32,
        ));
        tensors.push(ExpectedTensor::new(
            format!("_model.decoder.rnn.bias_{kind}"),
            &[gates],
            F32,
        ));
    }
    tensors.push(ExpectedTensor::new(
        "_model.decoder.decoder.2.weight".into(),
        &[SILERO_FINAL_CONV.0, SILERO_FINAL_CONV.1],
        F16,
    ));
    tensors.push(ExpectedTensor::new(
        "_model.decoder.decoder.2.bias".into(),
        &[SILERO_FINAL_CONV.1],
        F32,
    ));
    tensors
}

#[cfg(test)]
#[path = "ggml_tests.rs"]
mod tests;
