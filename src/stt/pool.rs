//! Inference workers: OS threads that own whisper states, fed by a bounded set of active
//! requests, so that blocking inference never runs on the async runtime and overload means
//! 429, not a pile-up. Requests are decoded one whisper window (at most 30 s) at a time, and
//! the workers take turns between the active requests window by window
//! ([`super::schedule`]), so a short request never waits behind the whole of a long one.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::schedule::Fair;
use super::timeline::{self, Timeline, Window};
use super::whisper::{WhisperModel, WhisperWorker};
use super::{RawTranscript, SttError, TranscribeOptions};
use crate::config::ThreadPlan;
use crate::cpu::CpuBudget;
use crate::metrics::{Engine, Metrics};

/// One transcription: its audio, and the timeline of it to decode window by window.
pub struct ChunkedJob {
    pub model: Arc<WhisperModel>,
    pub pcm: Arc<Vec<f32>>,
    /// Not empty.
    pub timeline: Arc<Timeline>,
    pub options: TranscribeOptions,
    /// Seconds of the original audio, for the metrics.
    pub audio_seconds: f64,
}

/// A request in the scheduler, with what its finished chunks produced.
struct Request {
    job: ChunkedJob,
    reply: oneshot::Sender<Result<RawTranscript, SttError>>,
    /// When it was submitted, for the queue-wait metric (submit to first chunk).
    queued_at: Instant,
    /// Inference time of its chunks so far.
    inference: Duration,
    /// The language the first chunk used or detected; later chunks keep it.
    language: Option<&'static str>,
    /// The tokens decoded so far (text and timestamps), the next window's prompt.
    context: Vec<i32>,
    /// Where on the timeline the next window starts.
    seek: usize,
    done: RawTranscript,
}

/// What a worker needs to run one chunk, taken out of the scheduler's lock.
struct ChunkWork {
    id: u64,
    model: Arc<WhisperModel>,
    pcm: Arc<Vec<f32>>,
    timeline: Arc<Timeline>,
    window: Window,
    options: TranscribeOptions,
    /// What the earlier chunks decoded, to condition this one.
    context: Vec<i32>,
    cancel: Arc<AtomicBool>,
}

struct Shared {
    state: Mutex<SchedState>,
    wake: Condvar,
}

struct SchedState {
    fair: Fair<Request>,
    closed: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, SchedState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
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

/// A fixed set of inference threads that share out the chunks of the active requests.
pub struct SttPool {
    shared: Arc<Shared>,
    cancelled: Arc<AtomicUsize>,
    plan: ThreadPlan,
}

impl SttPool {
    /// Starts `plan.workers` threads of `plan.threads_per_job` ggml threads each; besides the
    /// requests running, at most `max_queue` requests wait.
    pub fn start(
        plan: ThreadPlan,
        max_queue: usize,
        cpu: &CpuBudget,
        metrics: &Arc<Metrics>,
    ) -> Self {
        let shared = Arc::new(Shared {
            state: Mutex::new(SchedState {
                fair: Fair::new(plan.workers + max_queue.max(1)),
                closed: false,
            }),
            wake: Condvar::new(),
        });
        let cancelled = Arc::new(AtomicUsize::new(0));
        for index in 0..plan.workers {
            let shared = Arc::clone(&shared);
            let counters = Counters {
                cancelled: Arc::clone(&cancelled),
                metrics: Arc::clone(metrics),
            };
            let cpu = cpu.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("stt-worker-{index}"))
                .spawn(move || worker_loop(&shared, &counters, &cpu, plan.threads_per_job));
            if let Err(error) = spawned {
                tracing::error!(%error, "could not start an inference thread");
            }
        }
        Self {
            shared,
            cancelled,
            plan,
        }
    }

    pub fn plan(&self) -> ThreadPlan {
        self.plan
    }

    /// Requests waiting for a worker (for their first chunk or their next one).
    pub fn queued(&self) -> usize {
        self.shared.lock().fair.waiting()
    }

    /// Requests running a chunk now.
    pub fn running(&self) -> usize {
        self.shared.lock().fair.running()
    }

    /// Requests dropped or aborted because their client went away, since start.
    pub fn cancelled(&self) -> usize {
        self.cancelled.load(Ordering::Relaxed)
    }

    /// Queues a job and waits for its result; [`SttError::Overloaded`] if the queue is full.
    pub async fn run(
        &self,
        job: ChunkedJob,
        cancel: Arc<AtomicBool>,
    ) -> Result<RawTranscript, SttError> {
        let (reply, response) = oneshot::channel();
        let request = Request {
            job,
            reply,
            queued_at: Instant::now(),
            inference: Duration::ZERO,
            language: None,
            context: Vec::new(),
            seek: 0,
            done: RawTranscript {
                language: "en",
                segments: Vec::new(),
                unfinished: false,
            },
        };
        {
            let mut state = self.shared.lock();
            if state.closed {
                return Err(SttError::Engine(
                    "the inference workers have stopped".into(),
                ));
            }
            state
                .fair
                .submit(cancel, request)
                .map_err(|_| SttError::Overloaded)?;
        }
        self.shared.wake.notify_one();
        response
            .await
            .map_err(|_| SttError::Engine("an inference worker stopped unexpectedly".into()))?
    }
}

impl Drop for SttPool {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.wake.notify_all();
    }
}

/// What the workers report: the pool's own counts, and the server's metrics.
struct Counters {
    cancelled: Arc<AtomicUsize>,
    metrics: Arc<Metrics>,
}

impl Counters {
    fn cancelled(&self) {
        self.cancelled.fetch_add(1, Ordering::Relaxed);
        self.metrics.job_cancelled(Engine::Stt);
    }
}

/// Waits for the next chunk to run and takes what it needs; `None` when the pool closes.
fn next_chunk(shared: &Shared, counters: &Counters) -> Option<ChunkWork> {
    let mut state = shared.lock();
    loop {
        if state.closed {
            // Dropping the requests fails their callers.
            state.fair.drain();
            return None;
        }
        for _ in state.fair.take_cancelled(|r| r.reply.is_closed()) {
            tracing::debug!("dropping a job whose client went away");
            counters.cancelled();
        }
        if let Some((id, index)) = state.fair.next() {
            let cancel = state
                .fair
                .cancel_flag(id)
                .unwrap_or_else(|| Arc::new(AtomicBool::new(true)));
            let request = state.fair.get_mut(id)?;
            if index == 0 {
                counters
                    .metrics
                    .job_started(Engine::Stt, request.queued_at.elapsed());
            }
            let timeline = Arc::clone(&request.job.timeline);
            let window = timeline
                .window_at(request.seek)
                .unwrap_or(Window { start: 0, end: 0 });
            let mut options = request.job.options.clone();
            if index > 0 {
                options.language = request.language.or(options.language);
            }
            return Some(ChunkWork {
                id,
                model: Arc::clone(&request.job.model),
                pcm: Arc::clone(&request.job.pcm),
                timeline,
                window,
                options,
                context: request.context.clone(),
                cancel,
            });
        }
        state = shared.wake.wait(state).unwrap_or_else(|e| e.into_inner());
    }
}

fn worker_loop(shared: &Shared, counters: &Counters, cpu: &CpuBudget, threads: usize) {
    let worker = WhisperWorker::new(threads);
    while let Some(work) = next_chunk(shared, counters) {
        let audio = work.timeline.audio(&work.pcm, work.window);
        let lease = cpu.acquire(threads);
        let started = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            worker.transcribe(
                &work.model,
                &audio,
                &work.options,
                &work.context,
                &work.cancel,
            )
        }));
        let inference = started.elapsed();
        drop(lease);
        finish_chunk(shared, counters, &work, outcome, inference);
        shared.wake.notify_all();
    }
}

type Outcome = std::thread::Result<Result<RawTranscript, SttError>>;

/// Records a chunk's result; answers the request when it is done or failed.
fn finish_chunk(
    shared: &Shared,
    counters: &Counters,
    work: &ChunkWork,
    outcome: Outcome,
    inference: Duration,
) {
    let mut state = shared.lock();
    let failure = match outcome {
        Ok(Ok(raw)) => {
            let Some(request) = state.fair.get_mut(work.id) else {
                return;
            };
            request.inference += inference;
            request.seek = work.window.start + timeline::advance(work.window, &raw);
            let finished = work.timeline.window_at(request.seek).is_none();
            let segments = work.timeline.map_segments(work.window, raw.segments);
            if request.language.is_none() {
                request.language = Some(raw.language);
                request.done.language = raw.language;
            }
            timeline::carry_context(&mut request.context, &segments);
            request.done.segments.extend(segments);
            if let Some(request) = state.fair.chunk_done(work.id, finished) {
                counters.metrics.job_finished(
                    Engine::Stt,
                    request.inference,
                    request.job.audio_seconds,
                );
                // The receiver is gone if the client left meanwhile; nothing to tell.
                let _ = request.reply.send(Ok(request.done));
            }
            return;
        }
        Ok(Err(SttError::Cancelled)) => {
            tracing::info!("aborted a job whose client went away");
            counters.cancelled();
            SttError::Cancelled
        }
        Ok(Err(error)) => error,
        Err(_) => SttError::Engine("inference panicked".into()),
    };
    if let Some(request) = state.fair.remove(work.id) {
        let _ = request.reply.send(Err(failure));
    }
}
