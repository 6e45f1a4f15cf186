//! Synthesis workers: OS threads that own ONNX sessions, fed by a bounded queue. Each job is
//! spoken sentence by sentence, and every encoded chunk goes to the client as soon as it is
//! ready; when the client goes away, the channel closes and synthesis stops.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::mpsc;

use super::onnx::PiperSession;
use super::samples::to_i16;
use super::{ResolvedVoice, SpeechJob, TtsError, espeak, phonemes};
use crate::audio::encode::StreamEncoder;
use crate::config::ThreadPlan;
use crate::cpu::CpuBudget;
use crate::metrics::{Engine, Metrics};
use crate::models::VoiceFile;

/// Encoded audio as it is produced; the channel closes after the last chunk or an error.
pub type Chunks = mpsc::Receiver<Result<Bytes, TtsError>>;

pub(super) struct Job {
    pub speech: SpeechJob,
    pub voice: Option<Arc<VoiceFile>>,
    pub chunks: mpsc::Sender<Result<Bytes, TtsError>>,
    /// When it was queued, for the queue-wait metric.
    pub queued_at: Instant,
}

/// A fixed set of synthesis threads behind a bounded queue.
pub(super) struct TtsPool {
    queue: async_channel::Sender<Job>,
    busy: Arc<AtomicUsize>,
    cancelled: Arc<AtomicUsize>,
}

/// Every installed voice's model, loaded: one worker's ONNX sessions, each running on
/// `threads` ONNX Runtime threads.
pub struct LoadedVoices {
    sessions: HashMap<String, PiperSession>,
    threads: usize,
}

impl LoadedVoices {
    /// Loads each voice's model for one worker. A model ONNX Runtime rejects, or that breaks
    /// the Piper contract, is returned with the reason instead.
    pub fn load<'a>(
        voices: impl IntoIterator<Item = &'a VoiceFile>,
        threads: usize,
    ) -> (Self, Vec<(String, String)>) {
        let mut sessions = HashMap::new();
        let mut rejected = Vec::new();
        for voice in voices {
            match PiperSession::load(&voice.model_path, threads) {
                Ok(session) => {
                    sessions.insert(voice.id.clone(), session);
                }
                Err(error) => rejected.push((voice.id.clone(), error.to_string())),
            }
        }
        (Self { sessions, threads }, rejected)
    }

    pub fn empty(threads: usize) -> Self {
        Self {
            sessions: HashMap::new(),
            threads,
        }
    }
}

impl TtsPool {
    /// Starts `workers` threads and returns once each holds a session for every voice:
    /// the first takes `loaded`, the others load their own, so that no request waits for a
    /// model to load.
    pub fn start(
        plan: ThreadPlan,
        max_queue: usize,
        cpu: &CpuBudget,
        voices: Vec<Arc<VoiceFile>>,
        loaded: LoadedVoices,
        metrics: &Arc<Metrics>,
    ) -> Self {
        let (queue, jobs) = async_channel::bounded::<Job>(max_queue.max(1));
        let busy = Arc::new(AtomicUsize::new(0));
        let cancelled = Arc::new(AtomicUsize::new(0));
        let (ready, all_ready) = std::sync::mpsc::channel::<()>();
        let mut loaded = Some(loaded);
        let mut started = 0;
        for index in 0..plan.workers.max(1) {
            let jobs = jobs.clone();
            let cpu = cpu.clone();
            let busy = Arc::clone(&busy);
            let cancelled = Arc::clone(&cancelled);
            let voices = voices.clone();
            let loaded = loaded.take();
            let ready = ready.clone();
            let metrics = Arc::clone(metrics);
            let spawned = std::thread::Builder::new()
                .name(format!("tts-worker-{index}"))
                .spawn(move || {
                    let LoadedVoices { sessions, threads } = loaded.unwrap_or_else(|| {
                        let (loaded, rejected) = LoadedVoices::load(
                            voices.iter().map(|voice| &**voice),
                            plan.threads_per_job,
                        );
                        for (voice, reason) in rejected {
                            // It loaded once already: a failure now is a resource problem.
                            tracing::error!(%voice, "a synthesis worker could not load the voice: {reason}");
                        }
                        loaded
                    });
                    let _ = ready.send(());
                    let mut worker = Worker {
                        sessions,
                        threads,
                        cpu,
                        busy,
                        cancelled,
                        metrics,
                    };
                    while let Ok(job) = jobs.recv_blocking() {
                        worker.run(job);
                    }
                });
            match spawned {
                Ok(_) => started += 1,
                Err(error) => tracing::error!(%error, "could not start a synthesis thread"),
            }
        }
        drop(ready);
        for _ in 0..started {
            if all_ready.recv().is_err() {
                break;
            }
        }
        Self {
            queue,
            busy,
            cancelled,
        }
    }

    /// Jobs running now.
    pub fn running(&self) -> usize {
        self.busy.load(Ordering::Relaxed)
    }

    /// Jobs stopped because their client went away, since start.
    pub fn cancelled(&self) -> usize {
        self.cancelled.load(Ordering::Relaxed)
    }

    pub fn submit(&self, job: Job) -> Result<(), TtsError> {
        self.queue.try_send(job).map_err(|error| match error {
            async_channel::TrySendError::Full(_) => TtsError::Overloaded,
            async_channel::TrySendError::Closed(_) => {
                TtsError::Engine("the synthesis workers have stopped".into())
            }
        })
    }

    pub fn queued(&self) -> usize {
        self.queue.len()
    }
}

struct Worker {
    sessions: HashMap<String, PiperSession>,
    /// ONNX Runtime threads per session, and the CPU budget each sentence takes.
    threads: usize,
    cpu: CpuBudget,
    busy: Arc<AtomicUsize>,
    cancelled: Arc<AtomicUsize>,
    metrics: Arc<Metrics>,
}

/// Yields the samples of the next sentence, until there are none left.
type Sentences<'a> = Box<dyn FnMut() -> Option<Result<Vec<i16>, TtsError>> + 'a>;

/// The client went away; stop quietly.
struct Gone;

/// What a completed job produced, for the metrics.
struct Spoken {
    /// Seconds of audio, before any resampling for the output format.
    audio_seconds: f64,
    /// Time spent blocked on a client that reads slower than the audio is made.
    waiting: Duration,
}

impl Worker {
    fn run(&mut self, job: Job) {
        if job.chunks.is_closed() {
            self.cancelled();
            return;
        }
        self.metrics
            .job_started(Engine::Tts, job.queued_at.elapsed());
        self.busy.fetch_add(1, Ordering::Relaxed);
        let chunks = job.chunks.clone();
        let started = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(|| self.speak(job)));
        let took = started.elapsed();
        self.busy.fetch_sub(1, Ordering::Relaxed);
        let error = match outcome {
            Ok(Ok(spoken)) => {
                // A slow reader is not slow synthesis: its time is left out.
                let inference = took.saturating_sub(spoken.waiting);
                self.metrics
                    .job_finished(Engine::Tts, inference, spoken.audio_seconds);
                return;
            }
            Ok(Err(Ok(Gone))) => {
                tracing::info!("stopped synthesis: the client went away");
                self.cancelled();
                return;
            }
            Ok(Err(Err(error))) => error,
            Err(_) => {
                self.sessions.clear();
                TtsError::Engine("synthesis panicked".into())
            }
        };
        let _ = chunks.blocking_send(Err(error));
    }

    fn cancelled(&self) {
        self.cancelled.fetch_add(1, Ordering::Relaxed);
        self.metrics.job_cancelled(Engine::Tts);
    }

    fn speak(&mut self, job: Job) -> Result<Spoken, Result<Gone, TtsError>> {
        let Job {
            speech,
            voice,
            chunks,
            ..
        } = job;
        let engine = |e: &dyn std::fmt::Display| Err(TtsError::Engine(e.to_string()));
        // Audio comes one sentence at a time for Piper voices, all at once from espeak-ng.
        let (rate, mut sentences): (u32, Sentences<'_>) = match (&speech.voice, voice) {
            (ResolvedVoice::Piper { speaker, .. }, Some(file)) => {
                let ids = piper_sentences(&file, &speech.text).map_err(Err)?;
                let (cpu, threads) = (self.cpu.clone(), self.threads);
                let session = self.session(&file).map_err(Err)?;
                let speaker = match speaker {
                    Some(id) => Some(*id),
                    None if session.has_speaker_input() => Some(file.config.default_speaker_id()),
                    None => None,
                };
                let inference = &file.config.inference;
                let scales = [
                    inference.noise_scale,
                    inference.length_scale / speech.speed,
                    inference.noise_w,
                ];
                let mut ids = ids.into_iter();
                let rate = file.config.audio.sample_rate;
                (
                    rate,
                    Box::new(move || {
                        let ids = ids.next()?;
                        let _lease = cpu.acquire(threads);
                        Some(
                            session
                                .infer(&ids, scales, speaker)
                                .map(|audio| to_i16(&audio))
                                .map_err(|e| TtsError::Engine(e.to_string())),
                        )
                    }),
                )
            }
            (ResolvedVoice::Espeak { voice }, _) => {
                let (samples, rate) = {
                    let _lease = self.cpu.acquire(1);
                    espeak::synthesize(voice, &speech.text, speech.speed).map_err(|e| engine(&e))?
                };
                if samples.is_empty() {
                    return Err(Err(TtsError::NothingToSpeak));
                }
                let mut samples = Some(samples);
                (rate, Box::new(move || samples.take().map(Ok)))
            }
            (ResolvedVoice::Piper { id, .. }, None) => {
                return Err(Err(TtsError::Engine(format!("voice `{id}` is not loaded"))));
            }
        };

        let mut encoder = StreamEncoder::new(speech.format, rate).map_err(|e| engine(&e))?;
        let mut waiting = Duration::ZERO;
        let mut send = |bytes: Vec<u8>| -> Result<(), Result<Gone, TtsError>> {
            if bytes.is_empty() {
                return Ok(());
            }
            let blocked = Instant::now();
            let sent = chunks.blocking_send(Ok(Bytes::from(bytes)));
            waiting += blocked.elapsed();
            sent.map_err(|_| Ok(Gone))
        };
        let mut produced = 0usize;
        while let Some(samples) = sentences() {
            let samples = samples.map_err(Err)?;
            produced += samples.len();
            let bytes = encoder.push(&samples).map_err(|e| engine(&e))?;
            send(bytes)?;
            if chunks.is_closed() {
                return Err(Ok(Gone));
            }
        }
        send(encoder.finish().map_err(|e| engine(&e))?)?;
        Ok(Spoken {
            audio_seconds: produced as f64 / f64::from(rate),
            waiting,
        })
    }

    fn session(&mut self, file: &VoiceFile) -> Result<&mut PiperSession, TtsError> {
        if !self.sessions.contains_key(&file.id) {
            let session = PiperSession::load(&file.model_path, self.threads)
                .map_err(|e| TtsError::Engine(format!("loading voice `{}`: {e}", file.id)))?;
            self.sessions.insert(file.id.clone(), session);
        }
        self.sessions
            .get_mut(&file.id)
            .ok_or_else(|| TtsError::Engine("voice session vanished".into()))
    }
}

/// Phoneme ids per sentence, as Piper makes them; empty sentences are dropped.
fn piper_sentences(file: &VoiceFile, text: &str) -> Result<Vec<Vec<i64>>, TtsError> {
    let config = &file.config;
    let sentences = espeak::phonemize(&config.espeak.voice, text, &config.vowel_clusters)
        .map_err(|e| TtsError::Engine(e.to_string()))?;
    let ids: Vec<Vec<i64>> = sentences
        .iter()
        .filter(|sentence| !sentence.is_empty())
        .map(|sentence| phonemes::phonemes_to_ids(sentence, &config.phoneme_id_map))
        .collect();
    if ids.is_empty() {
        return Err(TtsError::NothingToSpeak);
    }
    Ok(ids)
}
