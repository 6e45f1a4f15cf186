//! ONNX Runtime for Piper voices: the only code in hearsay that touches `ort`.
//!
//! The runtime is a shared library loaded at run time (`ort`'s `load-dynamic`), so hearsay
//! builds without it and only text-to-speech needs it. [`init_runtime`] finds and loads it once
//! per process; [`PiperSession`] is one loaded voice model, checked against the Piper contract
//! (piper-tts `train/export_onnx.py`):
//!
//! | name            | type    | shape                  |
//! |-----------------|---------|------------------------|
//! | `input`         | int64   | [1, phonemes]          |
//! | `input_lengths` | int64   | [1]                    |
//! | `scales`        | float32 | [3]: noise, length, noise_w |
//! | `sid`           | int64   | [1], multi-speaker only |
//! | first output    | float32 | audio; declared dims are unreliable, so it is flattened |

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ort::environment::Environment;
use ort::logging::LogLevel;
use ort::session::builder::SessionBuilder;
use ort::session::{Session, SessionInputValue};
use ort::value::{Tensor, TensorElementType, TensorRef, ValueType};

/// File names of the runtime library, most specific first.
const LIBRARY_NAMES: &[&str] = &["libonnxruntime.so", "libonnxruntime.so.1"];

/// How to fix a missing runtime, appended to every load error.
const FIX_HINT: &str = "install it with scripts/get_onnxruntime.sh (puts it in share/onnxruntime/), \
     or pass --onnxruntime PATH (or set ORT_DYLIB_PATH) to a libonnxruntime.so of version 1.17 or newer";

/// Errors from ONNX Runtime and from models that break the Piper contract.
#[derive(Debug, thiserror::Error)]
pub enum OnnxError {
    /// The runtime library could not be found or loaded.
    #[error(
        "cannot load the ONNX Runtime library (needed for text-to-speech): {tried}; {FIX_HINT}"
    )]
    Runtime {
        /// Every path tried, each with why it failed.
        tried: String,
    },
    /// ONNX Runtime could not load the model file.
    #[error("cannot load the voice model {}: {message}", path.display())]
    Load { path: PathBuf, message: String },
    /// The model loads but does not have a Piper voice's inputs and outputs.
    #[error("{} is not a Piper voice model: {problem}", path.display())]
    Contract { path: PathBuf, problem: String },
    /// A request the model cannot run (no ids, a speaker where none is taken, …).
    #[error("invalid synthesis request: {0}")]
    Request(String),
    /// ONNX Runtime failed while running the model.
    #[error("the voice model failed: {0}")]
    Run(String),
}

/// The loaded runtime: its path and the process's one ONNX Runtime environment.
struct Runtime {
    path: PathBuf,
    environment: Environment,
}

static RUNTIME: Mutex<Option<Arc<Runtime>>> = Mutex::new(None);

/// Loads the ONNX Runtime library once per process and returns the path it was loaded from.
///
/// Where it looks: `explicit` (a file, or a directory holding `libonnxruntime.so`), else
/// `ORT_DYLIB_PATH`, else in order `<exe dir>/libonnxruntime.so*`,
/// `<exe dir>/../share/onnxruntime/`, `./share/onnxruntime/` and finally the system's library
/// search (`LD_LIBRARY_PATH`, ldconfig). Once a library is loaded, later calls return its path
/// whatever they ask for (a process can hold only one). Never panics: a missing, foreign or
/// too old library is an [`OnnxError::Runtime`] naming every path tried and the fix.
pub fn init_runtime(explicit: Option<&Path>) -> Result<PathBuf, OnnxError> {
    runtime(explicit).map(|runtime| runtime.path.clone())
}

fn runtime(explicit: Option<&Path>) -> Result<Arc<Runtime>, OnnxError> {
    let mut slot = RUNTIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(runtime) = slot.as_ref() {
        return Ok(Arc::clone(runtime));
    }
    let mut tried = Vec::new();
    for candidate in candidates(explicit) {
        let Candidate { path, search } = candidate;
        if !search && !path.is_file() {
            tried.push(format!("{} (not found)", path.display()));
            continue;
        }
        match ort::init_from(&path) {
            Ok(builder) => {
                let environment = builder
                    .with_name("hearsay")
                    .with_telemetry(false)
                    .with_logger(Arc::new(forward_log))
                    .build()
                    .map_err(|e| OnnxError::Runtime {
                        tried: format!("{} loaded, but: {e}", path.display()),
                    })?;
                tracing::debug!(path = %path.display(), "loaded ONNX Runtime");
                let runtime = Arc::new(Runtime { path, environment });
                *slot = Some(Arc::clone(&runtime));
                return Ok(runtime);
            }
            Err(e) => tried.push(format!("{} ({e})", path.display())),
        }
    }
    Err(OnnxError::Runtime {
        tried: format!("tried {}", tried.join(", ")),
    })
}

struct Candidate {
    path: PathBuf,
    /// A bare file name for the dynamic loader's own search.
    search: bool,
}

fn candidates(explicit: Option<&Path>) -> Vec<Candidate> {
    // Absolute, so that `ort` cannot resolve a relative path against the exe directory instead.
    let file = |path: PathBuf| Candidate {
        path: std::path::absolute(&path).unwrap_or(path),
        search: false,
    };
    if let Some(path) = explicit {
        return vec![file(file_or_library_in(path))];
    }
    if let Some(path) = std::env::var_os("ORT_DYLIB_PATH").filter(|p| !p.is_empty()) {
        return vec![file(file_or_library_in(Path::new(&path)))];
    }
    let mut dirs = Vec::new();
    if let Some(exe_dir) = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
    {
        if let Some(prefix) = exe_dir.parent() {
            dirs.push(prefix.join("share/onnxruntime"));
        }
        dirs.insert(0, exe_dir);
    }
    if let Ok(cwd) = std::env::current_dir() {
        dirs.push(cwd.join("share/onnxruntime"));
    }
    let mut list = Vec::new();
    for dir in dirs {
        let found: Vec<PathBuf> = libraries_in(&dir);
        if found.is_empty() {
            list.push(file(dir.join(LIBRARY_NAMES[0])));
        } else {
            list.extend(found.into_iter().map(file));
        }
    }
    // `ort` resolves a relative name against the exe directory first, which needs the exe path;
    // without it, skip the system search rather than let `ort` panic.
    if std::env::current_exe().is_ok() {
        list.extend(LIBRARY_NAMES.iter().map(|name| Candidate {
            path: PathBuf::from(name),
            search: true,
        }));
    }
    list
}

/// `libonnxruntime.so`, `libonnxruntime.so.1`, then any other `libonnxruntime.so.*` in `dir`.
fn libraries_in(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = LIBRARY_NAMES
        .iter()
        .map(|name| dir.join(name))
        .filter(|path| path.is_file())
        .collect();
    if let Ok(entries) = std::fs::read_dir(dir) {
        let mut versioned: Vec<PathBuf> = entries
            .flatten()
            .map(|entry| entry.path())
            .filter(|path| {
                path.file_name()
                    .and_then(|name| name.to_str())
                    .is_some_and(|name| {
                        name.starts_with("libonnxruntime.so.") && !LIBRARY_NAMES.contains(&name)
                    })
                    && path.is_file()
            })
            .collect();
        versioned.sort();
        found.extend(versioned);
    }
    found
}

fn file_or_library_in(path: &Path) -> PathBuf {
    if path.is_dir() {
        libraries_in(path)
            .into_iter()
            .next()
            .unwrap_or_else(|| path.join(LIBRARY_NAMES[0]))
    } else {
        path.to_path_buf()
    }
}

/// ONNX Runtime's own log lines, into `tracing` (ORT's informational chatter stays out).
fn forward_log(level: LogLevel, category: &str, id: &str, location: &str, message: &str) {
    match level {
        LogLevel::Fatal | LogLevel::Error => {
            tracing::error!(target: "onnxruntime", category, id, location, "{message}");
        }
        LogLevel::Warning => {
            tracing::warn!(target: "onnxruntime", category, id, location, "{message}");
        }
        LogLevel::Info | LogLevel::Verbose => {
            tracing::trace!(target: "onnxruntime", category, id, location, "{message}");
        }
    }
}

/// One ONNX Runtime session for a Piper voice model. Running needs `&mut`, so each worker
/// owns one; it is `Send`, so it can be built on one thread and used on another.
pub struct PiperSession {
    session: Session,
    has_sid: bool,
    output_name: String,
}

impl std::fmt::Debug for PiperSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PiperSession")
            .field("has_speaker_input", &self.has_sid)
            .field("output", &self.output_name)
            .finish_non_exhaustive()
    }
}

impl PiperSession {
    /// Loads a voice model with `threads` intra-op threads (at least 1; one is right when
    /// several workers share the cores) and checks its inputs and outputs against the Piper
    /// contract. Loads the runtime from the default places first if [`init_runtime`] was not
    /// called.
    pub fn load(model: &Path, threads: usize) -> Result<Self, OnnxError> {
        let runtime = runtime(None)?;
        let failed = |message: String| OnnxError::Load {
            path: model.to_path_buf(),
            message,
        };
        if !model.is_file() {
            return Err(failed("no such file".into()));
        }
        let builder = Session::builder(&runtime.environment).map_err(|e| failed(e.to_string()))?;
        let mut builder = configure(builder, threads.max(1)).map_err(failed)?;
        let session = builder
            .commit_from_file(model)
            .map_err(|e| failed(e.to_string()))?;
        let has_sid = check_contract(&session).map_err(|problem| OnnxError::Contract {
            path: model.to_path_buf(),
            problem,
        })?;
        let output_name = session.outputs()[0].name().to_owned();
        Ok(Self {
            session,
            has_sid,
            output_name,
        })
    }

    /// Whether the model takes a speaker id (`sid`): multi-speaker voices.
    pub fn has_speaker_input(&self) -> bool {
        self.has_sid
    }

    /// Synthesizes one sentence: phoneme `ids` (with piper's `^ _ … $` framing), `scales` =
    /// `[noise_scale, length_scale, noise_w]`, and a speaker id exactly when the model takes
    /// one. Returns the model's raw float samples (see [`super::samples::to_i16`]).
    pub fn infer(
        &mut self,
        ids: &[i64],
        scales: [f32; 3],
        speaker: Option<i64>,
    ) -> Result<Vec<f32>, OnnxError> {
        if ids.is_empty() {
            return Err(OnnxError::Request("no phoneme ids".into()));
        }
        match (self.has_sid, speaker) {
            (true, None) => {
                return Err(OnnxError::Request(
                    "this multi-speaker voice needs a speaker id".into(),
                ));
            }
            (false, Some(_)) => {
                return Err(OnnxError::Request(
                    "this voice has a single speaker and takes no speaker id".into(),
                ));
            }
            _ => {}
        }
        let run_error = |e: ort::Error| OnnxError::Run(e.to_string());
        let length =
            i64::try_from(ids.len()).map_err(|_| OnnxError::Request("too many ids".into()))?;
        let mut inputs: Vec<(&str, SessionInputValue<'_>)> = vec![
            (
                "input",
                TensorRef::from_array_view(([1usize, ids.len()], ids))
                    .map_err(run_error)?
                    .into(),
            ),
            (
                "input_lengths",
                Tensor::from_array(([1usize], vec![length]))
                    .map_err(run_error)?
                    .into(),
            ),
            (
                "scales",
                Tensor::from_array(([3usize], scales.to_vec()))
                    .map_err(run_error)?
                    .into(),
            ),
        ];
        if let Some(speaker) = speaker {
            inputs.push((
                "sid",
                Tensor::from_array(([1usize], vec![speaker]))
                    .map_err(run_error)?
                    .into(),
            ));
        }
        let outputs = self.session.run(inputs).map_err(run_error)?;
        let output = outputs
            .get(&self.output_name)
            .ok_or_else(|| OnnxError::Run("the model returned no audio output".into()))?;
        let (_, audio) = output.try_extract_tensor::<f32>().map_err(run_error)?;
        Ok(audio.to_vec())
    }
}

/// Session options for Piper voices. (`ort`'s builder errors carry the builder and are large,
/// so they become strings at once.)
fn configure(builder: SessionBuilder, threads: usize) -> Result<SessionBuilder, String> {
    let message = |e: ort::Error<SessionBuilder>| e.to_string();
    // Inputs change length with every sentence: a memory pattern only costs.
    let builder = builder.with_memory_pattern(false).map_err(message)?;
    let builder = builder.with_intra_threads(threads).map_err(message)?;
    let builder = builder.with_inter_threads(1).map_err(message)?;
    // Idle pool threads must not spin while other workers need the cores.
    let builder = builder.with_intra_op_spinning(false).map_err(message)?;
    builder.with_log_level(LogLevel::Warning).map_err(message)
}

/// Checks the inputs and outputs; returns whether the model takes `sid`.
fn check_contract(session: &Session) -> Result<bool, String> {
    let mut has_sid = false;
    let mut seen = Vec::new();
    for input in session.inputs() {
        let name = input.name();
        let (ty, rank) = match input.dtype() {
            ValueType::Tensor { ty, shape, .. } => (*ty, shape.len()),
            other => return Err(format!("input `{name}` is {other}, not a tensor")),
        };
        let (want_ty, want_rank) = match name {
            "input" => (TensorElementType::Int64, 2),
            "input_lengths" => (TensorElementType::Int64, 1),
            "scales" => (TensorElementType::Float32, 1),
            "sid" => (TensorElementType::Int64, 1),
            other => {
                return Err(format!(
                    "unexpected input `{other}` (a Piper voice takes input, input_lengths, scales and optionally sid)"
                ));
            }
        };
        if ty != want_ty {
            return Err(format!("input `{name}` is {ty}, expected {want_ty}"));
        }
        if rank != want_rank {
            return Err(format!(
                "input `{name}` has rank {rank}, expected {want_rank}"
            ));
        }
        if name == "scales"
            && let ValueType::Tensor { shape, .. } = input.dtype()
            && !matches!(shape[0], 3 | -1)
        {
            return Err(format!(
                "input `scales` has {} elements, expected 3",
                shape[0]
            ));
        }
        has_sid |= name == "sid";
        seen.push(name);
    }
    for required in ["input", "input_lengths", "scales"] {
        if !seen.contains(&required) {
            return Err(format!("no `{required}` input"));
        }
    }
    match session
        .outputs()
        .first()
        .map(|output| (output.name(), output.dtype()))
    {
        None => Err("the model has no outputs".into()),
        Some((
            _,
            ValueType::Tensor {
                ty: TensorElementType::Float32,
                ..
            },
        )) => Ok(has_sid),
        Some((name, ty)) => Err(format!(
            "output `{name}` is {ty}, expected a float32 tensor"
        )),
    }
}

/// Test helpers (`test_voices`, `require_runtime`) are `pub(crate)` for other TTS tests.
#[cfg(test)]
#[path = "onnx_tests.rs"]
pub(crate) mod tests;
