//! The speech-to-text façade the HTTP layer calls: decode off the runtime, find the speech,
//! cut it into chunks, queue, transcribe.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::Semaphore;

use super::chunks::{self, Span};
use super::pool::{CancelOnDrop, ChunkedJob, SttPool};
use super::whisper::{VadModel, WhisperModel};
use super::{RawTranscript, SttError, TranscribeOptions, Transcript, build_transcript};
use crate::audio::{self, DecodeLimits};
use crate::config::{ServeConfig, VadMode};
use crate::cpu::CpuBudget;
use crate::metrics::Metrics;
use crate::models::{Inventory, SttModelNames};

pub struct Transcriber {
    models: HashMap<String, Arc<WhisperModel>>,
    names: SttModelNames,
    pool: SttPool,
    /// Decoding is CPU work too; one at a time keeps it from starving the ggml threads.
    decode_permits: Semaphore,
    limits: DecodeLimits,
    /// The voice activity detector, when one is installed and `--vad` is not `off`.
    vad: Option<Arc<VadModel>>,
    cpu: CpuBudget,
}

/// Voice activity detection runs over this many samples (5 min) at a time, taking a CPU
/// thread for each block, so that inference can run between blocks of a long upload.
const VAD_BLOCK: usize = 5 * 60 * chunks::SAMPLE_RATE;

impl Transcriber {
    /// Loads every validated model in the inventory; one that fails to load is logged and left out.
    pub fn start(
        inventory: &Inventory,
        config: &ServeConfig,
        cpu: &CpuBudget,
        metrics: &Arc<Metrics>,
    ) -> Self {
        let mut models = HashMap::new();
        for file in &inventory.stt {
            match WhisperModel::load(file) {
                Ok(model) => {
                    tracing::info!(model = %file.id, path = %file.path.display(), "loaded speech-to-text model");
                    models.insert(file.id.clone(), model);
                }
                Err(error) => tracing::warn!(model = %file.id, %error, "skipping model"),
            }
        }
        let mut ids: Vec<String> = models.keys().cloned().collect();
        ids.sort();
        let names = SttModelNames::new(ids, config.default_stt_model.as_deref());
        let vad = load_vad(inventory, config.vad);
        let plan = config.thread_plan();
        tracing::info!(
            workers = plan.workers,
            threads_per_job = plan.threads_per_job,
            max_queue = config.max_queue,
            "speech-to-text workers ready"
        );
        Self {
            models,
            names,
            pool: SttPool::start(plan, config.max_queue, cpu, metrics),
            decode_permits: Semaphore::new(1),
            limits: DecodeLimits {
                max_seconds: config.max_audio_seconds,
                ..DecodeLimits::default()
            },
            vad,
            cpu: cpu.clone(),
        }
    }

    pub fn names(&self) -> &SttModelNames {
        &self.names
    }

    pub fn pool(&self) -> &SttPool {
        &self.pool
    }

    /// The voice activity detector in use by default, if any.
    pub fn vad_model(&self) -> Option<&str> {
        self.vad.as_ref().map(|vad| vad.id.as_str())
    }

    pub fn is_multilingual(&self, model_id: &str) -> bool {
        self.models
            .get(model_id)
            .is_some_and(|model| model.is_multilingual())
    }

    /// Transcribes `audio` with an installed model. Dropping the future cancels the job.
    pub async fn transcribe(
        &self,
        model_id: &str,
        audio: Bytes,
        options: TranscribeOptions,
    ) -> Result<Transcript, SttError> {
        let model = self
            .models
            .get(model_id)
            .cloned()
            .ok_or_else(|| SttError::Engine(format!("model `{model_id}` is not loaded")))?;
        let cancel = CancelOnDrop::new();
        let pcm = {
            let _permit = self
                .decode_permits
                .acquire()
                .await
                .map_err(|_| SttError::Engine("decoder closed".into()))?;
            let limits = self.limits;
            tokio::task::spawn_blocking(move || audio::decode_for_whisper(&audio, &limits))
                .await
                .map_err(|_| SttError::Engine("audio decoding panicked".into()))??
        };
        let duration = pcm.duration_seconds();
        let pcm = Arc::new(pcm.samples);
        let vad = self
            .vad
            .as_ref()
            .filter(|_| options.vad_filter != Some(false));
        let speech = match vad {
            Some(vad) => Some(self.find_speech(vad, &pcm, &cancel).await?),
            None => None,
        };
        let chunks = chunks::plan(&pcm, speech.as_deref());
        if chunks.is_empty() {
            // Nothing but silence: no decoder run, so nothing to hallucinate.
            let raw = RawTranscript {
                language: options.language.unwrap_or("en"),
                segments: Vec::new(),
            };
            return Ok(build_transcript(raw, &options, duration));
        }
        let job = ChunkedJob {
            model,
            pcm,
            chunks,
            options: options.clone(),
            audio_seconds: duration,
        };
        let raw = self.pool.run(job, cancel.flag()).await?;
        Ok(build_transcript(raw, &options, duration))
    }

    /// The speech spans of `pcm`, found off the runtime a block at a time.
    async fn find_speech(
        &self,
        vad: &Arc<VadModel>,
        pcm: &Arc<Vec<f32>>,
        cancel: &CancelOnDrop,
    ) -> Result<Vec<Span>, SttError> {
        let (vad, pcm, cpu, flag) = (
            Arc::clone(vad),
            Arc::clone(pcm),
            self.cpu.clone(),
            cancel.flag(),
        );
        tokio::task::spawn_blocking(move || {
            let mut spans = Vec::new();
            for start in (0..pcm.len()).step_by(VAD_BLOCK) {
                if flag.load(std::sync::atomic::Ordering::Relaxed) {
                    return Err(SttError::Cancelled);
                }
                let end = (start + VAD_BLOCK).min(pcm.len());
                let _lease = cpu.acquire(1);
                spans.extend(
                    vad.speech(&pcm[start..end])?
                        .into_iter()
                        .map(|(s, e)| Span::new(start + s, start + e)),
                );
            }
            Ok(spans)
        })
        .await
        .map_err(|_| SttError::Engine("voice activity detection panicked".into()))?
    }
}

/// The VAD model `--vad` asks for: the first installed one, unless it is `off`.
fn load_vad(inventory: &Inventory, mode: VadMode) -> Option<Arc<VadModel>> {
    if mode == VadMode::Off {
        return None;
    }
    let Some(file) = inventory.vad.first() else {
        if mode == VadMode::On {
            tracing::warn!(
                "--vad on, but no VAD model is installed: transcribing without voice activity \
                 detection; `hearsay pull` one (e.g. silero-v5.1.2) into the models directory"
            );
        }
        return None;
    };
    match VadModel::load(file) {
        Ok(vad) => {
            tracing::info!(model = %file.id, path = %file.path.display(), "voice activity detection on");
            Some(vad)
        }
        Err(error) => {
            tracing::warn!(model = %file.id, %error, "skipping VAD model");
            None
        }
    }
}
