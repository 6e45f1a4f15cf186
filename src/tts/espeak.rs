//! espeak-ng, the only code in hearsay that calls it: Piper's phonemization (exactly as
//! piper-tts 1.8.0 does it) and espeak-ng's own synthesizer as a fallback voice.
//!
//! The library is espeak-ng 1.52.0.1, built from source by the `espeak-rs-sys` crate and
//! linked statically; its data (`espeak-ng-data`, 1.52 format) ships beside hearsay, see
//! `scripts/get_espeak_data.sh`. espeak-ng keeps all its state in globals and is not
//! thread-safe, so every call goes through one process-wide lock, held only while espeak-ng
//! runs. espeak-ng is GPL-3.0-or-later, as is hearsay.

mod ffi;

use std::cell::RefCell;
use std::ffi::{CStr, CString, c_char, c_int, c_short, c_void};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use crate::tts::phonemes::{self, Clause};

// Links the static library that espeak-rs-sys builds; its bindings are not used.
use espeak_rs_sys as _;

/// An espeak-ng failure, with a readable message.
#[derive(Debug, thiserror::Error)]
#[error("espeak-ng: {0}")]
pub struct EspeakError(String);

impl EspeakError {
    fn new(message: impl Into<String>) -> Self {
        EspeakError(message.into())
    }
}

/// What `init` set up. `None` until then; the data directory never changes afterwards.
struct State {
    data_dir: PathBuf,
    sample_rate: u32,
}

static ESPEAK: Mutex<Option<State>> = Mutex::new(None);
/// Set once `init` succeeded, so that asking does not wait for a running synthesis.
static READY: AtomicBool = AtomicBool::new(false);

/// espeak-ng's `path_home` is 160 bytes and file names are appended to it.
const MAX_DATA_PATH: usize = 140;
/// espeak-ng copies voice names into 40..60-byte buffers.
const MAX_VOICE_NAME: usize = 40;
/// espeak-ng's own default speaking rate, words per minute, and its accepted range.
const RATE_NORMAL: f32 = 175.0;
const RATE_MIN: f32 = 80.0;
const RATE_MAX: f32 = 450.0;

fn lock() -> MutexGuard<'static, Option<State>> {
    // Nothing panics while the lock is held; if something did, espeak-ng's state is no
    // worse than after any failed call, so keep going.
    ESPEAK
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Initialises espeak-ng once for the process. `data_dir` is either the `espeak-ng-data`
/// directory itself (the one holding `phontab`) or its parent. Calling it again with the
/// same directory does nothing; with another directory it is an error.
pub fn init(data_dir: &Path) -> Result<(), EspeakError> {
    let data = resolve_data_dir(data_dir)?;
    let mut state = lock();
    if let Some(current) = state.as_ref() {
        return if current.data_dir == data {
            Ok(())
        } else {
            Err(EspeakError::new(format!(
                "already initialised with {}, cannot switch to {}",
                current.data_dir.display(),
                data.display()
            )))
        };
    }
    let path = path_to_cstring(&data)?;
    // SAFETY: we hold the lock, so no other espeak-ng call runs; `path` outlives the call
    // (espeak-ng copies it into `path_home`) and is shorter than that buffer.
    unsafe { ffi::espeak_ng_InitializePath(path.as_ptr()) };
    let mut context: *mut c_void = std::ptr::null_mut();
    // SAFETY: lock held; `context` is a valid out-pointer for the error context.
    let status = unsafe { ffi::espeak_ng_Initialize(&mut context) };
    if status != ffi::ENS_OK {
        let message = status_message(status);
        // SAFETY: `context` was set (or left null) by espeak_ng_Initialize; clearing frees it.
        unsafe { ffi::espeak_ng_ClearErrorContext(&mut context) };
        return Err(EspeakError::new(format!(
            "cannot load the data in {}: {message}",
            data.display()
        )));
    }
    // SAFETY: lock held; synchronous mode needs no audio device (NULL).
    let status = unsafe {
        ffi::espeak_ng_InitializeOutput(ffi::ENOUTPUT_MODE_SYNCHRONOUS, 0, std::ptr::null())
    };
    if status != ffi::ENS_OK {
        return Err(EspeakError::new(format!(
            "cannot set up output: {}",
            status_message(status)
        )));
    }
    // SAFETY: lock held; `on_samples` is a plain function that never unwinds.
    unsafe { ffi::espeak_SetSynthCallback(Some(on_samples)) };
    // SAFETY: lock held; reading and setting the library's lazily created decoder global,
    // which espeak_TextToPhonemes would create the same way.
    unsafe {
        if ffi::p_decoder.is_null() {
            ffi::p_decoder = ffi::create_text_decoder();
        }
        if ffi::p_decoder.is_null() {
            return Err(EspeakError::new("out of memory creating the text decoder"));
        }
    }
    // SAFETY: lock held; initialised above.
    let rate = unsafe { ffi::espeak_ng_GetSampleRate() };
    let sample_rate = u32::try_from(rate)
        .ok()
        .filter(|&r| r > 0)
        .ok_or_else(|| EspeakError::new(format!("invalid sample rate {rate}")))?;
    *state = Some(State {
        data_dir: data,
        sample_rate,
    });
    READY.store(true, Ordering::Release);
    Ok(())
}

/// The `espeak-ng-data` directory inside or at `dir`, canonical.
fn resolve_data_dir(dir: &Path) -> Result<PathBuf, EspeakError> {
    let data = if dir.join("phontab").is_file() {
        dir.to_path_buf()
    } else if dir.join("espeak-ng-data").join("phontab").is_file() {
        dir.join("espeak-ng-data")
    } else {
        return Err(EspeakError::new(format!(
            "no espeak-ng data in {0} or {0}/espeak-ng-data (no phontab); \
             run scripts/get_espeak_data.sh",
            dir.display()
        )));
    };
    let data = data
        .canonicalize()
        .map_err(|e| EspeakError::new(format!("{}: {e}", data.display())))?;
    if data.as_os_str().len() > MAX_DATA_PATH {
        return Err(EspeakError::new(format!(
            "data path {} is longer than espeak-ng's {MAX_DATA_PATH} bytes; use a shorter \
             path or a symlink",
            data.display()
        )));
    }
    Ok(data)
}

fn path_to_cstring(path: &Path) -> Result<CString, EspeakError> {
    use std::os::unix::ffi::OsStrExt;
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| EspeakError::new(format!("path {} contains NUL", path.display())))
}

/// espeak-ng's text for a status code.
fn status_message(status: c_int) -> String {
    let mut buffer = [0 as c_char; 512];
    // SAFETY: espeak-ng writes at most `buffer.len()` bytes, NUL-terminated.
    unsafe { ffi::espeak_ng_GetStatusCodeMessage(status, buffer.as_mut_ptr(), buffer.len()) };
    // SAFETY: the buffer is NUL-terminated (zeroed, and espeak-ng terminates what it writes).
    let message = unsafe { CStr::from_ptr(buffer.as_ptr()) };
    format!("{} (status {status:#x})", message.to_string_lossy())
}

/// Whether `init` succeeded.
pub fn is_initialized() -> bool {
    READY.load(Ordering::Acquire)
}

/// espeak-ng's library version string, e.g. "1.52.0.1".
pub fn version() -> Option<String> {
    // SAFETY: with NULL, espeak_Info only returns its static version string (touches no
    // state), so it needs neither the lock nor `init`.
    let version = unsafe { ffi::espeak_Info(std::ptr::null_mut()) };
    if version.is_null() {
        return None;
    }
    // SAFETY: non-null, NUL-terminated, static.
    Some(
        unsafe { CStr::from_ptr(version) }
            .to_string_lossy()
            .into_owned(),
    )
}

/// Piper's phonemization of `text` with espeak voice `voice` ("en-us", "de", "es", "cmn"):
/// sentences of phonemes, each phoneme one codepoint after NFD or a merged vowel cluster,
/// exactly as piper-tts 1.8.0's `PiperVoice.phonemize` gives them (including raw
/// `[[ … ]]` phoneme blocks). The lock is held only while espeak-ng runs on a text part.
pub fn phonemize(
    voice: &str,
    text: &str,
    vowel_clusters: &[Vec<String>],
) -> Result<Vec<Vec<String>>, EspeakError> {
    let voice = voice_cstring(voice)?;
    phonemes::piper_sentences(text, vowel_clusters, |part| clauses(&voice, part))
}

/// Voice names are short ASCII (`en-us`, `cmn`, `en-gb-x-rp`, `en+f3`); anything else (a
/// path such as `gmw/en` included) is refused before espeak-ng sees it, as it opens files
/// named after it.
fn voice_cstring(name: &str) -> Result<CString, EspeakError> {
    let valid = !name.is_empty()
        && name.len() <= MAX_VOICE_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_+".contains(&b));
    if !valid {
        return Err(EspeakError::new(format!("invalid voice name {name:?}")));
    }
    CString::new(name).map_err(|_| EspeakError::new("invalid voice name"))
}

/// Text as espeak-ng takes it: a C string, so NUL (which would end it early) becomes a space.
fn text_cstring(text: &str) -> CString {
    let bytes: Vec<u8> = text
        .bytes()
        .map(|b| if b == 0 { b' ' } else { b })
        .collect();
    CString::new(bytes).unwrap_or_default()
}

fn set_voice(state: &Option<State>, voice: &CStr) -> Result<(), EspeakError> {
    if state.is_none() {
        return Err(EspeakError::new("not initialised"));
    }
    // SAFETY: the caller holds the lock (it passed the guarded state); `voice` is a valid C string.
    let status = unsafe { ffi::espeak_SetVoiceByName(voice.as_ptr()) };
    if status != ffi::EE_OK {
        return Err(EspeakError::new(format!(
            "unknown voice {:?}",
            voice.to_string_lossy()
        )));
    }
    Ok(())
}

/// piper's `espeakbridge.get_phonemes`: set the voice, then clause by clause IPA with the
/// clause terminator until the text is used up.
fn clauses(voice: &CStr, text: &str) -> Result<Vec<Clause>, EspeakError> {
    let text = text_cstring(text);
    let state = lock();
    set_voice(&state, voice)?;
    let mut out = Vec::new();
    let mut position: *const c_void = text.as_ptr().cast();
    while !position.is_null() {
        let (phonemes, terminator, next) = text_to_phonemes(position)?;
        out.push(Clause {
            phonemes,
            terminator,
        });
        // espeak-ng always moves forward; a stuck pointer would loop forever.
        if !next.is_null() && next <= position {
            return Err(EspeakError::new("text decoder did not advance"));
        }
        position = next;
    }
    drop(state);
    Ok(out)
}

/// Upstream's `espeak_TextToPhonemesWithTerminator` (which no release exports): one
/// clause's IPA, its terminator, and where the next clause starts (NULL at the end).
/// The caller must hold the lock, and `position` must point into a live NUL-terminated string.
fn text_to_phonemes(position: *const c_void) -> Result<(String, i32, *const c_void), EspeakError> {
    let mut terminator: c_int = 0;
    // SAFETY: the caller holds the lock and keeps the text alive; init created p_decoder, and
    // set_voice made `translator` current. Same calls, in the same order, as upstream.
    unsafe {
        let decoder = ffi::p_decoder;
        let status = ffi::text_decoder_decode_string_multibyte(
            decoder,
            position,
            ffi::ESPEAKNG_ENCODING_UTF_8,
            ffi::ESPEAK_CHARS_UTF8,
        );
        if status != ffi::ENS_OK {
            return Err(EspeakError::new(format!(
                "cannot decode text: {}",
                status_message(status)
            )));
        }
        ffi::TranslateClauseWithTerminator(
            ffi::translator,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            &mut terminator,
        );
        let next = ffi::text_decoder_get_buffer(decoder);
        let phonemes = ffi::GetTranslatedPhonemeString(ffi::ESPEAK_PHONEMES_IPA);
        let phonemes = if phonemes.is_null() {
            String::new()
        } else {
            CStr::from_ptr(phonemes).to_string_lossy().into_owned()
        };
        Ok((phonemes, terminator, next))
    }
}

thread_local! {
    /// Samples of the synthesis running on this thread (the callback runs inside espeak_Synth).
    static SAMPLES: RefCell<Vec<i16>> = const { RefCell::new(Vec::new()) };
}

/// espeak-ng's synth callback: collects samples; 0 means "continue".
unsafe extern "C" fn on_samples(wav: *mut c_short, count: c_int, _events: *mut c_void) -> c_int {
    if let (false, Ok(count @ 1..)) = (wav.is_null(), usize::try_from(count)) {
        // SAFETY: espeak-ng passes `count` valid samples at `wav` for this call.
        let chunk = unsafe { std::slice::from_raw_parts(wav, count) };
        SAMPLES.with(|samples| {
            if let Ok(mut samples) = samples.try_borrow_mut() {
                samples.extend_from_slice(chunk);
            }
        });
    }
    0
}

/// espeak-ng's own synthesizer (the fallback voice): mono i16 samples and their rate
/// (22050 Hz). `speed` scales espeak-ng's default 175 words per minute, clamped to 80..450.
pub fn synthesize(voice: &str, text: &str, speed: f32) -> Result<(Vec<i16>, u32), EspeakError> {
    if !speed.is_finite() || speed <= 0.0 {
        return Err(EspeakError::new(format!("invalid speed {speed}")));
    }
    let voice = voice_cstring(voice)?;
    let text = text_cstring(text);
    let rate = (RATE_NORMAL * speed).clamp(RATE_MIN, RATE_MAX).round() as c_int;
    let state = lock();
    set_voice(&state, &voice)?;
    let sample_rate = state.as_ref().map_or(0, |s| s.sample_rate);
    SAMPLES.with(|samples| samples.borrow_mut().clear());
    // SAFETY: lock held; `text` is NUL-terminated and `size` counts its bytes with the NUL;
    // flags 0 = plain text (no SSML, no [[ ]] phoneme input), which leaves the phonemizer's
    // options as init set them. Samples arrive through `on_samples` on this thread.
    let status = unsafe {
        ffi::espeak_SetParameter(ffi::ESPEAK_RATE, rate, 0);
        let status = ffi::espeak_Synth(
            text.as_ptr().cast(),
            text.as_bytes_with_nul().len(),
            0,
            ffi::POS_CHARACTER,
            0,
            ffi::ESPEAK_CHARS_UTF8 as u32,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        );
        ffi::espeak_SetParameter(ffi::ESPEAK_RATE, RATE_NORMAL as c_int, 0);
        status
    };
    drop(state);
    let samples = SAMPLES.with(|samples| std::mem::take(&mut *samples.borrow_mut()));
    if status != ffi::EE_OK {
        return Err(EspeakError::new(format!(
            "synthesis failed (error {status})"
        )));
    }
    Ok((samples, sample_rate))
}

/// Whether espeak-ng accepts `name` as a voice (false before `init`). Used to validate a
/// Piper config's `espeak.voice` and the fallback voice name.
pub fn has_voice(name: &str) -> bool {
    let Ok(name) = voice_cstring(name) else {
        return false;
    };
    let state = lock();
    set_voice(&state, &name).is_ok()
}

#[cfg(test)]
mod tests;
