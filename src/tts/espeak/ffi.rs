//! Hand-written declarations of the espeak-ng 1.52 functions hearsay calls.
//!
//! The library itself is the static `libespeak-ng.a` that `espeak-rs-sys` builds from its
//! vendored source; its generated bindings are not used. Besides the public API this names
//! five internal (but global) symbols, so that `text_to_phonemes` can be exactly upstream's
//! `espeak_TextToPhonemesWithTerminator`, which piper-tts calls and no espeak-ng release
//! exports. Signatures are from `speak_lib.h`, `espeak_ng.h`, `encoding.h`, `translate.h`
//! and `dictionary.h` of espeak-rs-sys 0.2.0 (espeak-ng 1.52.0.1).

use std::ffi::{c_char, c_int, c_short, c_uint, c_void};

// `espeak_ng_STATUS` / `espeak_ERROR`: 0 is success in both.
pub const ENS_OK: c_int = 0;
pub const EE_OK: c_int = 0;
/// `espeak_ng_OUTPUT_MODE`: samples go to the synth callback, `espeak_Synth` blocks.
pub const ENOUTPUT_MODE_SYNCHRONOUS: c_int = 0x0001;
/// `espeakCHARS_UTF8`: our text is always valid UTF-8, so the 8-bit fallback of
/// `espeakCHARS_AUTO` (which piper passes) never triggers and both decode identically.
pub const ESPEAK_CHARS_UTF8: c_int = 1;
pub const ESPEAKNG_ENCODING_UTF_8: c_int = 19;
/// `espeakPHONEMES_IPA`, as piper passes it.
pub const ESPEAK_PHONEMES_IPA: c_int = 0x02;
/// `espeak_PARAMETER::espeakRATE`.
pub const ESPEAK_RATE: c_int = 1;
/// `espeak_POSITION_TYPE::POS_CHARACTER`.
pub const POS_CHARACTER: c_int = 1;

/// `t_espeak_callback`: samples (NULL at the end), their count, the event list.
pub type SynthCallback = unsafe extern "C" fn(*mut c_short, c_int, *mut c_void) -> c_int;

unsafe extern "C" {
    pub fn espeak_ng_InitializePath(path: *const c_char);
    /// `context` is an `espeak_ng_ERROR_CONTEXT *` (a pointer to an opaque pointer).
    pub fn espeak_ng_Initialize(context: *mut *mut c_void) -> c_int;
    pub fn espeak_ng_InitializeOutput(
        mode: c_int,
        buffer_ms: c_int,
        device: *const c_char,
    ) -> c_int;
    pub fn espeak_ng_GetSampleRate() -> c_int;
    pub fn espeak_ng_GetStatusCodeMessage(status: c_int, buffer: *mut c_char, length: usize);
    pub fn espeak_ng_ClearErrorContext(context: *mut *mut c_void);
    pub fn espeak_Info(path_data: *mut *const c_char) -> *const c_char;
    pub fn espeak_SetVoiceByName(name: *const c_char) -> c_int;
    pub fn espeak_SetParameter(parameter: c_int, value: c_int, relative: c_int) -> c_int;
    pub fn espeak_SetSynthCallback(callback: Option<SynthCallback>);
    pub fn espeak_Synth(
        text: *const c_void,
        size: usize,
        position: c_uint,
        position_type: c_int,
        end_position: c_uint,
        flags: c_uint,
        unique_identifier: *mut c_uint,
        user_data: *mut c_void,
    ) -> c_int;

    // Internals (translate.h, encoding.h, dictionary.h).
    /// `espeak_ng_TEXT_DECODER *p_decoder`, created lazily by the library.
    pub static mut p_decoder: *mut c_void;
    /// `Translator *translator`, the current voice's translator.
    pub static mut translator: *mut c_void;
    pub fn create_text_decoder() -> *mut c_void;
    pub fn text_decoder_decode_string_multibyte(
        decoder: *mut c_void,
        input: *const c_void,
        encoding: c_int,
        flags: c_int,
    ) -> c_int;
    pub fn text_decoder_get_buffer(decoder: *mut c_void) -> *const c_void;
    pub fn TranslateClauseWithTerminator(
        tr: *mut c_void,
        tone_out: *mut c_int,
        voice_change: *mut *mut c_char,
        terminator_out: *mut c_int,
    );
    pub fn GetTranslatedPhonemeString(phoneme_mode: c_int) -> *const c_char;
}
