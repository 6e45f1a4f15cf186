//! Inference workers: OS threads that own whisper states, fed by a bounded queue, so that
//! blocking inference never runs on the async runtime and a full queue means 429, not a pile-up.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use tokio::sync::oneshot;

use super::whisper::{WhisperModel, WhisperWorker};
use super::{RawTranscript, SttError, TranscribeOptions};
use crate::audio::WHISPER_SAMPLE_RATE;
use crate::config::ThreadPlan;
use crate::cpu::CpuBudget;
use crate::metrics::{Engine, Metrics};

struct Job {
    model: Arc<WhisperModel>,
    pcm: Vec<f32>,
    options: TranscribeOptions,
    cancel: Arc<AtomicBool>,
    reply: oneshot::Sender<Result<RawTranscript, SttError>>,
    /// When it was queued, for the queue-wait metric.
    queued_at: Instant,
}

/// Sets its flag when dropped: the request future that owns it was dropped because the client
/// went away, so the job is skipped if queued and aborted if running.
pub struct CancelOnDrop(Arc<AtomicBool>);

impl CancelOnDrop {
    pub fn new() -> Self {
        Self(Arc::new(AtomicBool::new(false)))
    }

    pub fn flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.0)
    }
}

impl Default for CancelOnDrop {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// A fixed set of inference threads behind a bounded queue.
pub struct SttPool {
    queue: async_channel::Sender<Job>,
    busy: Arc<AtomicUsize>,
    cancelled: Arc<AtomicUsize>,
    plan: ThreadPlan,
}

impl SttPool {
    /// Starts `plan.workers` threads of `plan.threads_per_job` ggml threads each; at most
    /// `max_queue` jobs wait for a free worker.
    pub fn start(
        plan: ThreadPlan,
        max_queue: usize,
        cpu: &CpuBudget,
        metrics: &Arc<Metrics>,
    ) -> Self {
        let (queue, jobs) = async_channel::bounded::<Job>(max_queue.max(1));
        let busy = Arc::new(AtomicUsize::new(0));
        let cancelled = Arc::new(AtomicUsize::new(0));
        for index in 0..plan.workers {
            let jobs = jobs.clone();
            let counters = Counters {
                busy: Arc::clone(&busy),
                cancelled: Arc::clone(&cancelled),
                metrics: Arc::clone(metrics),
            };
            let cpu = cpu.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("stt-worker-{index}"))
                .spawn(move || worker_loop(&jobs, &counters, &cpu, plan.threads_per_job));
            if let Err(error) = spawned {
                tracing::error!(%error, "could not start an inference thread");
            }
        }
        Self {
            queue,
            busy,
            cancelled,
            plan,
        }
    }

    pub fn plan(&self) -> ThreadPlan {
        self.plan
    }

    /// Jobs waiting for a worker.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Jobs running now.
    pub fn running(&self) -> usize {
        self.busy.load(Ordering::Relaxed)
    }

    /// Jobs dropped or aborted because their client went away, since start.
    pub fn cancelled(&self) -> usize {
        self.cancelled.load(Ordering::Relaxed)
    }

    /// Queues a job and waits for its result; [`SttError::Overloaded`] if the queue is full.
    pub async fn run(
        &self,
        model: Arc<WhisperModel>,
        pcm: Vec<f32>,
        options: TranscribeOptions,
        cancel: Arc<AtomicBool>,
    ) -> Result<RawTranscript, SttError> {
        let (reply, response) = oneshot::channel();
        let job = Job {
            model,
            pcm,
            options,
            cancel,
            reply,
            queued_at: Instant::now(),
        };
        self.queue.try_send(job).map_err(|error| match error {
            async_channel::TrySendError::Full(_) => SttError::Overloaded,
            async_channel::TrySendError::Closed(_) => {
                SttError::Engine("the inference workers have stopped".into())
            }
        })?;
        response
            .await
            .map_err(|_| SttError::Engine("an inference worker stopped unexpectedly".into()))?
    }
}

/// What the workers report: the pool's own counts, and the server's metrics.
struct Counters {
    busy: Arc<AtomicUsize>,
    cancelled: Arc<AtomicUsize>,
    metrics: Arc<Metrics>,
}

impl Counters {
    fn cancelled(&self) {
        self.cancelled.fetch_add(1, Ordering::Relaxed);
        self.metrics.job_cancelled(Engine::Stt);
    }
}

fn worker_loop(
    jobs: &async_channel::Receiver<Job>,
    counters: &Counters,
    cpu: &CpuBudget,
    threads: usize,
) {
    let mut worker = WhisperWorker::new(threads);
    while let Ok(job) = jobs.recv_blocking() {
        if job.cancel.load(Ordering::Relaxed) || job.reply.is_closed() {
            tracing::debug!("skipping a job whose client went away");
            counters.cancelled();
            continue;
        }
        counters
            .metrics
            .job_started(Engine::Stt, job.queued_at.elapsed());
        counters.busy.fetch_add(1, Ordering::Relaxed);
        let lease = cpu.acquire(threads);
        let started = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            worker.transcribe(&job.model, &job.pcm, &job.options, &job.cancel)
        }));
        let inference = started.elapsed();
        drop(lease);
        match &outcome {
            Ok(Ok(_)) => {
                let audio_seconds = job.pcm.len() as f64 / f64::from(WHISPER_SAMPLE_RATE);
                counters
                    .metrics
                    .job_finished(Engine::Stt, inference, audio_seconds);
            }
            Ok(Err(SttError::Cancelled)) => {
                tracing::info!("aborted a job whose client went away");
                counters.cancelled();
            }
            _ => {}
        }
        counters.busy.fetch_sub(1, Ordering::Relaxed);
        let result = outcome.unwrap_or_else(|_| {
            // The states may be half-written: start clean for the next job.
            worker.reset();
            Err(SttError::Engine("inference panicked".into()))
        });
        // The receiver is gone if the client left meanwhile; nothing to tell.
        let _ = job.reply.send(result);
    }
}
