//! The whisper.cpp engine: the only code in hearsay that touches whisper-rs.
//!
//! Model files reach this module only after `models::ggml` validated them, because
//! whisper.cpp aborts the process on some malformed files.

use std::ffi::{CStr, c_char, c_void};
use std::sync::atomic::AtomicU32;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use whisper_rs::{DtwMode, DtwModelPreset, DtwParameters};
use whisper_rs::{FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters};
use whisper_rs::{WhisperState, WhisperToken};
use whisper_rs::{WhisperVadContext, WhisperVadContextParams, WhisperVadParams};

use super::{RawSegment, RawToken, RawTranscript, SttError, Task, TranscribeOptions};
use crate::models::{SttModelFile, VadModelFile, WhisperModelInfo};

use super::timeline::MAX_CONTEXT_TOKENS;
/// Only the end of a long prompt can matter, so tokenize no more than this.
const MAX_PROMPT_BYTES: usize = 4096;

/// What whisper.cpp logs when [`one_window_only`] stops it: expected, so not logged.
const ONE_WINDOW_STOP: &str = "encoder_begin_callback returned false";

/// Routes whisper.cpp's and ggml's logs into `tracing` instead of stderr.
pub fn install_log_bridge() {
    whisper_rs::install_logging_hooks();
    // whisper.cpp's own lines go through a filter of ours instead of whisper-rs's bridge.
    // SAFETY: the callback is a plain function that lives for the whole program.
    unsafe { whisper_rs::whisper_rs_sys::whisper_log_set(Some(whisper_log), std::ptr::null_mut()) };
}

unsafe extern "C" fn whisper_log(level: u32, text: *const c_char, _: *mut c_void) {
    if text.is_null() {
        return;
    }
    // SAFETY: whisper.cpp passes a NUL-terminated string valid for this call.
    let text = unsafe { CStr::from_ptr(text) }.to_string_lossy();
    let text = text.trim();
    if text.is_empty() || text.contains(ONE_WINDOW_STOP) {
        return;
    }
    use whisper_rs::whisper_rs_sys as sys;
    match level {
        sys::ggml_log_level_GGML_LOG_LEVEL_ERROR => tracing::error!(target: "whisper_rs", "{text}"),
        sys::ggml_log_level_GGML_LOG_LEVEL_WARN => tracing::warn!(target: "whisper_rs", "{text}"),
        sys::ggml_log_level_GGML_LOG_LEVEL_INFO => tracing::info!(target: "whisper_rs", "{text}"),
        _ => tracing::debug!(target: "whisper_rs", "{text}"),
    }
}

/// Loaded weights of one model, shared by every worker.
pub struct WhisperModel {
    pub id: String,
    context: WhisperContext,
    multilingual: bool,
    /// Tokens carry times aligned by dynamic time warping over the model's alignment heads.
    aligned: bool,
}

impl std::fmt::Debug for WhisperModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WhisperModel")
            .field("id", &self.id)
            .finish()
    }
}

impl WhisperModel {
    /// Loads a validated file. whisper.cpp reads the whole file here.
    pub fn load(file: &SttModelFile) -> Result<Arc<Self>, SttError> {
        let mut params = WhisperContextParameters::default();
        // Flash attention off: on CPU it made the encoder 1.1-1.7x slower in every
        // configuration measured (BENCHMARKS.md).
        params.flash_attn(false);
        // Word times from the cross-attention of whisper's alignment heads (as OpenAI's whisper
        // and faster-whisper do): whisper.cpp's default token times drift by seconds in pauses.
        let preset = alignment_heads(&file.info);
        let aligned = preset.is_some();
        if let Some(model_preset) = preset {
            params.dtw_parameters(DtwParameters {
                mode: DtwMode::ModelPreset { model_preset },
                ..DtwParameters::default()
            });
        }
        let context = WhisperContext::new_with_params(&file.path, params)
            .map_err(|e| SttError::Engine(format!("loading `{}`: {e}", file.id)))?;
        let multilingual = context.is_multilingual();
        Ok(Arc::new(Self {
            id: file.id.clone(),
            context,
            multilingual,
            aligned,
        }))
    }

    pub fn is_multilingual(&self) -> bool {
        self.multilingual
    }
}

/// The alignment heads of the OpenAI model a file has the shape of, if any: fine-tunes keep
/// their base model's shape and, closely enough, its heads.
fn alignment_heads(info: &WhisperModelInfo) -> Option<DtwModelPreset> {
    let english = !info.is_multilingual();
    let shape = (
        info.n_audio_layer,
        info.n_audio_state,
        info.n_text_layer,
        info.n_mels,
    );
    Some(match shape {
        (4, 384, 4, 80) if english => DtwModelPreset::TinyEn,
        (4, 384, 4, 80) => DtwModelPreset::Tiny,
        (6, 512, 6, 80) if english => DtwModelPreset::BaseEn,
        (6, 512, 6, 80) => DtwModelPreset::Base,
        (12, 768, 12, 80) if english => DtwModelPreset::SmallEn,
        (12, 768, 12, 80) => DtwModelPreset::Small,
        (24, 1024, 24, 80) if english => DtwModelPreset::MediumEn,
        (24, 1024, 24, 80) => DtwModelPreset::Medium,
        (32, 1280, 32, 80) => DtwModelPreset::LargeV2,
        (32, 1280, 32, 128) => DtwModelPreset::LargeV3,
        (32, 1280, 4, 128) => DtwModelPreset::LargeV3Turbo,
        _ => return None,
    })
}

/// A Silero voice activity detector in whisper.cpp's format. whisper-rs ignores the VAD
/// settings of `FullParams`, so hearsay runs it itself and decodes only the speech it finds.
pub struct VadModel {
    pub id: String,
    /// Independent detectors (lanes), so that blocks of one upload are searched in
    /// parallel; each holds its LSTM state only while it runs.
    lanes: Vec<Mutex<WhisperVadContext>>,
}

impl std::fmt::Debug for VadModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VadModel")
            .field("id", &self.id)
            .field("lanes", &self.lanes.len())
            .finish()
    }
}

impl VadModel {
    /// Loads a validated file as `lanes` single-threaded detectors (a Silero graph is too small
    /// for ggml's threads to pay; separate blocks on separate cores do).
    pub fn load(file: &VadModelFile, lanes: usize) -> Result<Arc<Self>, SttError> {
        let path = file
            .path
            .to_str()
            .ok_or_else(|| SttError::Engine(format!("the path of `{}` is not UTF-8", file.id)))?;
        let lanes = (0..lanes.max(1))
            .map(|_| {
                let mut params = WhisperVadContextParams::new();
                params.set_n_threads(1);
                params.set_use_gpu(false);
                WhisperVadContext::new(path, params)
                    .map(Mutex::new)
                    .map_err(|e| SttError::Engine(format!("loading VAD model `{}`: {e}", file.id)))
            })
            .collect::<Result<_, _>>()?;
        Ok(Arc::new(Self {
            id: file.id.clone(),
            lanes,
        }))
    }

    /// How many blocks can be searched at once.
    pub fn lanes(&self) -> usize {
        self.lanes.len()
    }

    /// Speech in 16 kHz mono `pcm`, as sample ranges `(start, end)`, with whisper.cpp's default
    /// thresholds (probability 0.5, speech of at least 250 ms, silences of at least 100 ms).
    /// `lane` picks the detector (any number; it wraps around).
    pub fn speech(&self, lane: usize, pcm: &[f32]) -> Result<Vec<(usize, usize)>, SttError> {
        if pcm.is_empty() {
            return Ok(Vec::new());
        }
        let mut context = self.lanes[lane % self.lanes.len()]
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let segments = context
            .segments_from_samples(WhisperVadParams::new(), pcm)
            .map_err(|e| SttError::Engine(format!("voice activity detection: {e}")))?;
        let samples_per_cs = f64::from(crate::audio::WHISPER_SAMPLE_RATE) / 100.0;
        let to_sample =
            |cs: f32| ((f64::from(cs) * samples_per_cs).round().max(0.0) as usize).min(pcm.len());
        Ok(segments
            .map(|segment| (to_sample(segment.start), to_sample(segment.end)))
            .filter(|(start, end)| end > start)
            .collect())
    }
}

/// One inference thread's engine. Each window gets a fresh whisper state (about 20 ms for
/// base): a state carries its first decoder's random generator from call to call, so a reused
/// state made a window's temperature fallback depend on whatever ran on it before, and the
/// same upload came back with different words each time.
pub struct WhisperWorker {
    threads: i32,
}

impl WhisperWorker {
    pub fn new(threads: usize) -> Self {
        Self {
            threads: i32::try_from(threads).unwrap_or(1).max(1),
        }
    }

    /// Runs one whisper window over 16 kHz mono `pcm` (at most 30 s), prompted with the
    /// client's prompt followed by `context` (tokens decoded from the audio before this).
    /// Where whisper would go on with a second window, it is stopped and the transcript marked
    /// [`RawTranscript::unfinished`]: the caller decides where the next window starts.
    /// `cancel` stops it between encoder and decoder steps.
    pub fn transcribe(
        &self,
        model: &WhisperModel,
        pcm: &[f32],
        options: &TranscribeOptions,
        context: &[i32],
        cancel: &AtomicBool,
    ) -> Result<RawTranscript, SttError> {
        let mut state = model
            .context
            .create_state()
            .map_err(|e| SttError::Engine(format!("creating a whisper state: {e}")))?;

        let mut prompt_tokens = match options.prompt.as_deref() {
            Some(prompt) => prompt_tokens(&model.context, prompt)?,
            None => Vec::new(),
        };
        prompt_tokens.extend_from_slice(context);
        let excess = prompt_tokens.len().saturating_sub(MAX_CONTEXT_TOKENS);
        prompt_tokens.drain(..excess);
        let strategy = match options.beam_size.unwrap_or(1) {
            0 | 1 => SamplingStrategy::Greedy { best_of: 5 },
            beam => SamplingStrategy::BeamSearch {
                beam_size: i32::from(beam.min(super::MAX_BEAM_SIZE)),
                patience: -1.0,
            },
        };
        // With a beam, the fallback temperatures still sample best-of-5, as whisper does.
        let mut params = FullParams::new(strategy);
        params.set_n_threads(self.threads);
        // The context is hearsay's to give: whisper.cpp's own lives in the state.
        params.set_no_context(true);
        params.set_translate(options.task == Task::Translate);
        params.set_language(language_for(model, options));
        params.set_print_special(false);
        params.set_print_progress(false);
        params.set_print_realtime(false);
        params.set_print_timestamps(false);
        // Token times are always wanted: they place each segment's start and end.
        params.set_token_timestamps(true);
        params.set_temperature(options.temperature);
        if options.temperature > 0.0 {
            // A chosen temperature is used as is; 0 keeps whisper.cpp's fallback ladder.
            params.set_temperature_inc(0.0);
        }
        if !prompt_tokens.is_empty() {
            params.set_tokens(&prompt_tokens);
        }
        // NOTE: whisper-rs 0.16's safe abort callback is unsound (it never calls the closure),
        // so the raw callback reads the flag directly.
        let encoder_runs = AtomicU32::new(0);
        unsafe {
            params.set_abort_callback(Some(abort_when_set));
            params.set_abort_callback_user_data(cancel as *const AtomicBool as *mut c_void);
            params.set_start_encoder_callback(Some(one_window_only));
            params.set_start_encoder_callback_user_data(
                &encoder_runs as *const AtomicU32 as *mut c_void,
            );
        }

        let result = state.full(params, pcm);
        if cancel.load(Ordering::Relaxed) {
            return Err(SttError::Cancelled);
        }
        result.map_err(|e| SttError::Engine(format!("whisper_full: {e}")))?;
        let mut raw = collect(model, &state);
        raw.unfinished = encoder_runs.load(Ordering::Relaxed) > 1;
        Ok(raw)
    }
}

/// Lets whisper.cpp encode its first window only; a second call means it wanted to go on.
unsafe extern "C" fn one_window_only(
    _: *mut whisper_rs::whisper_rs_sys::whisper_context,
    _: *mut whisper_rs::whisper_rs_sys::whisper_state,
    runs: *mut c_void,
) -> bool {
    // SAFETY: the pointer is the `&AtomicU32` borrowed for the whole `full()` call.
    let runs = unsafe { &*(runs as *const AtomicU32) };
    runs.fetch_add(1, Ordering::Relaxed) == 0
}

unsafe extern "C" fn abort_when_set(flag: *mut c_void) -> bool {
    // SAFETY: the pointer is the `&AtomicBool` borrowed for the whole `full()` call.
    unsafe { (*(flag as *const AtomicBool)).load(Ordering::Relaxed) }
}

/// English-only models never detect: they would guess junk. Everything else uses the
/// requested language, or detects it when none was given.
fn language_for(model: &WhisperModel, options: &TranscribeOptions) -> Option<&'static str> {
    if !model.multilingual {
        return Some("en");
    }
    options.language
}

fn prompt_tokens(context: &WhisperContext, prompt: &str) -> Result<Vec<i32>, SttError> {
    let mut start = prompt.len().saturating_sub(MAX_PROMPT_BYTES);
    while !prompt.is_char_boundary(start) {
        start += 1;
    }
    let tail = &prompt[start..];
    if tail.trim().is_empty() {
        return Ok(Vec::new());
    }
    // A token never spans less than one byte, so this bound always suffices.
    let mut tokens = context
        .tokenize(tail, tail.len() + 1)
        .map_err(|e| SttError::Engine(format!("tokenizing the prompt: {e}")))?;
    let excess = tokens.len().saturating_sub(MAX_CONTEXT_TOKENS);
    tokens.drain(..excess);
    Ok(tokens)
}

fn collect(model: &WhisperModel, state: &WhisperState) -> RawTranscript {
    let context = &model.context;
    let (eot, beg) = (context.token_eot(), context.token_beg());
    let language = if model.multilingual {
        whisper_rs::get_lang_str(state.full_lang_id_from_state()).unwrap_or("en")
    } else {
        "en"
    };
    let segments = state
        .as_iter()
        .map(|segment| {
            let tokens = (0..segment.n_tokens())
                .filter_map(|i| segment.get_token(i))
                .map(|token| raw_token(&token, eot, beg, model.aligned))
                .collect();
            RawSegment {
                t0: segment.start_timestamp(),
                t1: segment.end_timestamp(),
                seek: None,
                text: segment
                    .to_str_lossy()
                    .map(|text| text.into_owned())
                    .unwrap_or_default(),
                no_speech_prob: segment.no_speech_probability(),
                tokens,
            }
        })
        .collect();
    RawTranscript {
        language: static_language_code(language),
        segments,
        unfinished: false,
    }
}

fn raw_token(token: &WhisperToken<'_, '_>, eot: i32, beg: i32, aligned: bool) -> RawToken {
    let data = token.token_data();
    let aligned_at = (aligned && data.t_dtw >= 0).then_some(data.t_dtw);
    let id = data.id;
    let timestamp = (id >= beg).then(|| 2 * i64::from(id - beg));
    RawToken {
        id,
        bytes: token.to_bytes().map(<[u8]>::to_vec).unwrap_or_default(),
        logprob: data.plog,
        t0: data.t0,
        t1: data.t1,
        is_control: id >= eot && timestamp.is_none(),
        timestamp,
        aligned_at,
    }
}

/// whisper.cpp's language table, by id.
fn languages() -> impl Iterator<Item = (&'static str, &'static str)> {
    (0..=whisper_rs::get_lang_max_id()).filter_map(|id| {
        Some((
            whisper_rs::get_lang_str(id)?,
            whisper_rs::get_lang_str_full(id)?,
        ))
    })
}

fn static_language_code(code: &str) -> &'static str {
    languages()
        .map(|(short, _)| short)
        .find(|short| *short == code)
        .unwrap_or("en")
}

pub(super) fn language_code(input: &str) -> Option<&'static str> {
    let wanted = input.trim().to_ascii_lowercase();
    languages()
        .find(|(short, full)| *short == wanted || *full == wanted)
        .map(|(short, _)| short)
}

pub(super) fn language_name(code: &str) -> Option<&'static str> {
    languages()
        .find(|(short, _)| *short == code)
        .map(|(_, full)| full)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_resolve_by_code_and_name() {
        assert_eq!(language_code("de"), Some("de"));
        assert_eq!(language_code("German"), Some("de"));
        assert_eq!(language_code(" EN "), Some("en"));
        assert_eq!(language_code("xx"), None);
        assert_eq!(language_code(""), None);
        assert_eq!(language_name("de"), Some("german"));
        assert_eq!(language_name("zh"), Some("chinese"));
    }
}
