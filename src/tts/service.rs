//! The text-to-speech façade the HTTP layer calls.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use tokio::sync::mpsc;

use super::pool::{Chunks, Job, LoadedVoices, TtsPool};
use super::{ResolvedVoice, SpeechJob, TtsError, VoiceCatalog};
use crate::config::ThreadPlan;
use crate::cpu::CpuBudget;
use crate::metrics::Metrics;

/// Chunks in flight between a worker and its client; small, so a slow client slows synthesis
/// down instead of piling audio up in memory.
const CHUNKS_IN_FLIGHT: usize = 4;

pub struct Synthesizer {
    catalog: VoiceCatalog,
    pool: TtsPool,
}

/// Speech being produced: the first chunk is already here, the rest follows.
pub struct SpeechStream {
    pub first: Bytes,
    pub rest: Chunks,
}

impl Synthesizer {
    /// Starts the synthesis workers; `loaded` holds the catalog's voices, loaded once already
    /// (see [`LoadedVoices::load`]). Returns when every worker has its sessions.
    pub fn start(
        catalog: VoiceCatalog,
        loaded: LoadedVoices,
        plan: ThreadPlan,
        max_queue: usize,
        cpu: &CpuBudget,
        metrics: &Arc<Metrics>,
    ) -> Self {
        let voices = catalog
            .ids()
            .iter()
            .filter_map(|id| catalog.voice(id).cloned())
            .collect();
        Self {
            pool: TtsPool::start(plan, max_queue, cpu, voices, loaded, metrics),
            catalog,
        }
    }

    pub fn catalog(&self) -> &VoiceCatalog {
        &self.catalog
    }

    pub fn queued(&self) -> usize {
        self.pool.queued()
    }

    /// Jobs running now.
    pub fn running(&self) -> usize {
        self.pool.running()
    }

    /// Jobs stopped because their client went away, since start.
    pub fn cancelled(&self) -> usize {
        self.pool.cancelled()
    }

    /// Queues the job and waits for its first chunk, so that a failure before any audio is
    /// still an ordinary error response. Dropping the stream stops the synthesis.
    pub async fn speak(&self, speech: SpeechJob) -> Result<SpeechStream, TtsError> {
        let voice = match &speech.voice {
            ResolvedVoice::Piper { id, .. } => Some(
                self.catalog
                    .voice(id)
                    .cloned()
                    .ok_or_else(|| TtsError::Engine(format!("voice `{id}` is not installed")))?,
            ),
            ResolvedVoice::Espeak { .. } => None,
        };
        let (chunks, mut rest) = mpsc::channel(CHUNKS_IN_FLIGHT);
        self.pool.submit(Job {
            speech,
            voice,
            chunks,
            queued_at: Instant::now(),
        })?;
        match rest.recv().await {
            Some(Ok(first)) => Ok(SpeechStream { first, rest }),
            Some(Err(error)) => Err(error),
            None => Err(TtsError::Engine("synthesis ended without audio".into())),
        }
    }
}
