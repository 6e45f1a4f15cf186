//! The speech-to-text façade the HTTP layer calls: decode off the runtime, find the speech,
//! lay out the timeline to decode, queue it window by window, transcribe.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::Semaphore;

use super::pool::{CancelOnDrop, ChunkedJob, SttPool};
use super::timeline::{self, Span};
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
    /// The beam width of requests that do not choose one.
    beam_size: u8,
    cpu: CpuBudget,
}

/// Voice activity detection runs over at most this many samples (5 min) at a time, taking a
/// CPU thread for each block, so that inference can run between blocks of a long upload.
const VAD_BLOCK: usize = 5 * 60 * timeline::SAMPLE_RATE;
/// Blocks are no shorter than this (30 s) when an upload is split across VAD lanes: the
/// detector starts each block afresh, and shorter blocks would save nothing worth that.
const MIN_VAD_BLOCK: usize = 30 * timeline::SAMPLE_RATE;
/// Silero reads 512-sample frames; blocks start on a frame so the framing is that of one pass.
const VAD_FRAME: usize = 512;

/// What one VAD lane found: the speech spans of each block it searched, by block index.
type LaneFindings = Vec<(usize, Vec<Span>)>;

/// Splits `len` samples into VAD blocks: as even as `lanes` detectors can share them, each
/// between 30 s and 5 min (the last may be shorter), and frame-aligned.
fn vad_blocks(len: usize, lanes: usize) -> Vec<(usize, usize)> {
    let even = len.div_ceil(lanes.max(1));
    let block = even
        .clamp(MIN_VAD_BLOCK, VAD_BLOCK)
        .next_multiple_of(VAD_FRAME);
    (0..len)
        .step_by(block)
        .map(|start| (start, (start + block).min(len)))
        .collect()
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
        let vad = load_vad(inventory, config.vad, plan.threads_per_job);
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
            beam_size: config.beam_size,
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
        mut options: TranscribeOptions,
    ) -> Result<Transcript, SttError> {
        options.beam_size.get_or_insert(self.beam_size);
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
        let timeline = timeline::plan(pcm.len(), speech.as_deref());
        if timeline.window_at(0).is_none() {
            // Nothing but silence: no decoder run, so nothing to hallucinate.
            let raw = RawTranscript {
                language: options.language.unwrap_or("en"),
                segments: Vec::new(),
                unfinished: false,
            };
            return Ok(build_transcript(raw, &options, duration));
        }
        let job = ChunkedJob {
            model,
            pcm,
            timeline: Arc::new(timeline),
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
            let blocks = vad_blocks(pcm.len(), vad.lanes());
            let lanes = vad.lanes().min(blocks.len());
            // Lane `i` searches blocks i, i + lanes, ...; each block takes one CPU thread.
            let found: Vec<Result<LaneFindings, SttError>> = std::thread::scope(|s| {
                let lane_jobs: Vec<_> = (0..lanes)
                    .map(|lane| {
                        let (vad, pcm, cpu, flag, blocks) = (&vad, &pcm, &cpu, &flag, &blocks);
                        s.spawn(move || {
                            let mut found = Vec::new();
                            for (index, &(start, end)) in
                                blocks.iter().enumerate().skip(lane).step_by(lanes)
                            {
                                if flag.load(std::sync::atomic::Ordering::Relaxed) {
                                    return Err(SttError::Cancelled);
                                }
                                let _lease = cpu.acquire(1);
                                let spans = vad
                                    .speech(lane, &pcm[start..end])?
                                    .into_iter()
                                    .map(|(s, e)| Span::new(start + s, start + e))
                                    .collect();
                                found.push((index, spans));
                            }
                            Ok(found)
                        })
                    })
                    .collect();
                lane_jobs
                    .into_iter()
                    .map(|job| {
                        job.join().unwrap_or_else(|_| {
                            Err(SttError::Engine("voice activity detection panicked".into()))
                        })
                    })
                    .collect()
            });
            let mut by_block = Vec::new();
            for lane in found {
                by_block.extend(lane?);
            }
            by_block.sort_by_key(|(index, _)| *index);
            Ok(by_block.into_iter().flat_map(|(_, spans)| spans).collect())
        })
        .await
        .map_err(|_| SttError::Engine("voice activity detection panicked".into()))?
    }
}

/// The VAD model `--vad` asks for: the first installed one, unless it is `off`.
/// It gets a lane per thread a job may use.
fn load_vad(inventory: &Inventory, mode: VadMode, lanes: usize) -> Option<Arc<VadModel>> {
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
    match VadModel::load(file, lanes) {
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

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: usize = timeline::SAMPLE_RATE;

    fn covers_exactly(blocks: &[(usize, usize)], len: usize) {
        assert_eq!(blocks.first().map(|b| b.0), Some(0));
        assert_eq!(blocks.last().map(|b| b.1), Some(len));
        assert!(blocks.windows(2).all(|w| w[0].1 == w[1].0));
        assert!(blocks.iter().all(|&(s, _)| s % VAD_FRAME == 0));
    }

    #[test]
    fn vad_blocks_share_a_long_upload_between_lanes() {
        // 10 min on 2 lanes: two 5-min blocks, one per lane.
        let blocks = vad_blocks(600 * SECOND, 2);
        covers_exactly(&blocks, 600 * SECOND);
        assert_eq!(blocks.len(), 2);
        // 2 min on 2 lanes: two blocks of about a minute.
        let blocks = vad_blocks(120 * SECOND, 2);
        covers_exactly(&blocks, 120 * SECOND);
        assert_eq!(blocks.len(), 2);
        // An hour: never more than 5 min a block, so inference runs between them.
        for (lanes, count) in [(1, 12), (2, 12), (16, 16)] {
            let blocks = vad_blocks(3600 * SECOND, lanes);
            covers_exactly(&blocks, 3600 * SECOND);
            assert_eq!(blocks.len(), count, "{lanes} lanes");
        }
    }

    #[test]
    fn vad_blocks_keep_short_uploads_whole() {
        for len in [1, 511, 512, 10 * SECOND, 30 * SECOND] {
            assert_eq!(vad_blocks(len, 2), [(0, len)], "{len}");
        }
        assert_eq!(vad_blocks(45 * SECOND, 4).len(), 2);
        assert_eq!(vad_blocks(0, 2), []);
        assert_eq!(vad_blocks(100, 0), [(0, 100)]);
    }
}
