//! The speech-to-text façade the HTTP layer calls: decode off the runtime, queue, transcribe.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::Semaphore;

use super::pool::{CancelOnDrop, SttPool};
use super::whisper::WhisperModel;
use super::{SttError, TranscribeOptions, Transcript, build_transcript};
use crate::audio::{self, DecodeLimits};
use crate::config::ServeConfig;
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
}

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
        }
    }

    pub fn names(&self) -> &SttModelNames {
        &self.names
    }

    pub fn pool(&self) -> &SttPool {
        &self.pool
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
        let raw = self
            .pool
            .run(model, pcm.samples, options.clone(), cancel.flag())
            .await?;
        Ok(build_transcript(raw, &options, duration))
    }
}
