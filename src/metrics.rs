//! Prometheus metrics: every series hearsay exports, kept in a registry of its own so that
//! several servers in one process (the tests run many) never share figures.
//!
//! Labels stay low-cardinality: routes are axum's route templates (or `unmatched`), methods
//! outside HTTP's standard set are `other`, engines and model kinds are fixed words.

use std::time::Duration;

use prometheus::{
    Counter, Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder, core::Collector,
};

/// The classic text exposition format, as Prometheus asks for it.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The `route` of a request that matched no route, so random URLs add no series.
pub const UNMATCHED: &str = "unmatched";

/// Time to response headers; speech streams on after them.
const REQUEST_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
];
const QUEUE_WAIT_BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
];
/// Up to an hour: two hours of audio (the default upper limit) on a slow CPU.
const INFERENCE_BUCKETS: &[f64] = &[
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
    1800.0, 3600.0,
];
/// From a thousand times faster than real time to ten times slower.
const RTF_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// HTTP methods kept as labels; any other token a client invents is `other`.
const METHODS: &[&str] = &[
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
];

/// Which inference pool a job ran in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Stt,
    Tts,
}

impl Engine {
    pub fn label(self) -> &'static str {
        match self {
            Engine::Stt => "stt",
            Engine::Tts => "tts",
        }
    }
}

/// One pool's load, read when scraped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Load {
    /// Jobs waiting for a worker.
    pub queued: usize,
    /// Jobs a worker is running.
    pub running: usize,
}

/// What is read from the live server at scrape time rather than counted as it happens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Live {
    pub stt: Load,
    pub tts: Load,
    /// Speech-to-text models loaded.
    pub stt_models: usize,
    /// Piper voices installed.
    pub voices: usize,
}

/// Inference seconds per second of audio (lower is faster); `None` without audio.
pub fn real_time_factor(inference: Duration, audio_seconds: f64) -> Option<f64> {
    (audio_seconds.is_finite() && audio_seconds > 0.0)
        .then(|| inference.as_secs_f64() / audio_seconds)
}

/// `method` itself if it is a standard HTTP method, else `other`.
pub fn method_label(method: &str) -> &'static str {
    METHODS
        .iter()
        .find(|known| **known == method)
        .copied()
        .unwrap_or("other")
}

/// One engine's series, resolved once so that recording never looks labels up.
struct EngineSeries {
    queue_depth: IntGauge,
    jobs_running: IntGauge,
    queue_wait: Histogram,
    inference: Histogram,
    audio: Counter,
    real_time_factor: Histogram,
    cancelled: IntCounter,
}

/// The per-engine families, labelled by `engine`.
struct EngineFamilies {
    queue_depth: IntGaugeVec,
    jobs_running: IntGaugeVec,
    queue_wait: HistogramVec,
    inference: HistogramVec,
    audio: prometheus::CounterVec,
    real_time_factor: HistogramVec,
    cancelled: IntCounterVec,
}

impl EngineFamilies {
    fn new() -> prometheus::Result<Self> {
        let engine = &["engine"];
        let histogram = |name: &str, help: &str, buckets: &[f64]| {
            HistogramVec::new(
                HistogramOpts::new(name, help).buckets(buckets.to_vec()),
                engine,
            )
        };
        Ok(Self {
            queue_depth: IntGaugeVec::new(
                Opts::new("hearsay_queue_depth", "Jobs waiting for a worker."),
                engine,
            )?,
            jobs_running: IntGaugeVec::new(
                Opts::new("hearsay_jobs_running", "Jobs a worker is running."),
                engine,
            )?,
            queue_wait: histogram(
                "hearsay_queue_wait_seconds",
                "Time from submitting a job to a worker starting it.",
                QUEUE_WAIT_BUCKETS,
            )?,
            inference: histogram(
                "hearsay_inference_seconds",
                "Time a worker spent on each completed job, less any wait for a slow reader.",
                INFERENCE_BUCKETS,
            )?,
            audio: prometheus::CounterVec::new(
                Opts::new(
                    "hearsay_audio_seconds_total",
                    "Seconds of audio transcribed (stt) or produced (tts) by completed jobs.",
                ),
                engine,
            )?,
            real_time_factor: histogram(
                "hearsay_real_time_factor",
                "Inference seconds per second of audio of each completed job; lower is faster.",
                RTF_BUCKETS,
            )?,
            cancelled: IntCounterVec::new(
                Opts::new(
                    "hearsay_jobs_cancelled_total",
                    "Jobs skipped or aborted because their client went away.",
                ),
                engine,
            )?,
        })
    }

    fn series(&self, engine: Engine) -> prometheus::Result<EngineSeries> {
        let label = &[engine.label()];
        Ok(EngineSeries {
            queue_depth: self.queue_depth.get_metric_with_label_values(label)?,
            jobs_running: self.jobs_running.get_metric_with_label_values(label)?,
            queue_wait: self.queue_wait.get_metric_with_label_values(label)?,
            inference: self.inference.get_metric_with_label_values(label)?,
            audio: self.audio.get_metric_with_label_values(label)?,
            real_time_factor: self.real_time_factor.get_metric_with_label_values(label)?,
            cancelled: self.cancelled.get_metric_with_label_values(label)?,
        })
    }

    fn collectors(self) -> [Box<dyn Collector>; 7] {
        [
            Box::new(self.queue_depth),
            Box::new(self.jobs_running),
            Box::new(self.queue_wait),
            Box::new(self.inference),
            Box::new(self.audio),
            Box::new(self.real_time_factor),
            Box::new(self.cancelled),
        ]
    }
}

/// Every metric of one server. Shared as `Arc<Metrics>` by the HTTP layer and the pools.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    request_seconds: HistogramVec,
    stt: EngineSeries,
    tts: EngineSeries,
    stt_models: IntGauge,
    voices: IntGauge,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    /// A fresh registry with every series; those with fixed labels start at zero, so they are
    /// exported before anything happens.
    pub fn new() -> prometheus::Result<Self> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "hearsay_http_requests_total",
                "HTTP responses, by route template, method and status.",
            ),
            &["route", "method", "status"],
        )?;
        let request_seconds = HistogramVec::new(
            HistogramOpts::new(
                "hearsay_http_request_duration_seconds",
                "Time from a request's arrival to its response headers.",
            )
            .buckets(REQUEST_BUCKETS.to_vec()),
            &["route"],
        )?;
        let models = IntGaugeVec::new(
            Opts::new("hearsay_models_loaded", "Models ready to serve, by kind."),
            &["kind"],
        )?;
        let engines = EngineFamilies::new()?;
        let stt = engines.series(Engine::Stt)?;
        let tts = engines.series(Engine::Tts)?;
        let stt_models = models.get_metric_with_label_values(&["stt"])?;
        let voices = models.get_metric_with_label_values(&["voice"])?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(request_seconds.clone()))?;
        registry.register(Box::new(models))?;
        for collector in engines.collectors() {
            registry.register(collector)?;
        }
        Ok(Self {
            registry,
            requests,
            request_seconds,
            stt,
            tts,
            stt_models,
            voices,
        })
    }

    fn engine(&self, engine: Engine) -> &EngineSeries {
        match engine {
            Engine::Stt => &self.stt,
            Engine::Tts => &self.tts,
        }
    }

    /// A response: `route` is the matched route template, `None` when no route matched.
    pub fn observe_request(&self, route: Option<&str>, method: &str, status: u16, took: Duration) {
        let route = route.unwrap_or(UNMATCHED);
        let status = status.to_string();
        // The label counts are fixed above, so these lookups cannot fail; if one ever did,
        // losing a sample beats failing the request.
        if let Ok(counter) =
            self.requests
                .get_metric_with_label_values(&[route, method_label(method), &status])
        {
            counter.inc();
        }
        if let Ok(histogram) = self.request_seconds.get_metric_with_label_values(&[route]) {
            histogram.observe(took.as_secs_f64());
        }
    }

    /// A worker took a job off the queue after it waited `waited`.
    pub fn job_started(&self, engine: Engine, waited: Duration) {
        self.engine(engine).queue_wait.observe(waited.as_secs_f64());
    }

    /// A job completed: `inference` spent on `audio_seconds` of audio.
    pub fn job_finished(&self, engine: Engine, inference: Duration, audio_seconds: f64) {
        let series = self.engine(engine);
        series.inference.observe(inference.as_secs_f64());
        if audio_seconds.is_finite() && audio_seconds > 0.0 {
            series.audio.inc_by(audio_seconds);
        }
        if let Some(factor) = real_time_factor(inference, audio_seconds) {
            series.real_time_factor.observe(factor);
        }
    }

    /// A job was skipped or aborted because its client went away.
    pub fn job_cancelled(&self, engine: Engine) {
        self.engine(engine).cancelled.inc();
    }

    /// The exposition text, with the live figures as of now.
    pub fn render(&self, live: &Live) -> prometheus::Result<String> {
        let gauge = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        for (series, load) in [(&self.stt, live.stt), (&self.tts, live.tts)] {
            series.queue_depth.set(gauge(load.queued));
            series.jobs_running.set(gauge(load.running));
        }
        self.stt_models.set(gauge(live.stt_models));
        self.voices.set(gauge(live.voices));
        let mut text = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut text)?;
        String::from_utf8(text).map_err(|e| prometheus::Error::Msg(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// Sample lines as `name{labels}` → value; comments left out.
    fn samples(text: &str) -> HashMap<String, f64> {
        text.lines()
            .filter(|line| !line.starts_with('#') && !line.is_empty())
            .map(|line| {
                let (series, value) = line.rsplit_once(' ').expect("a value");
                (series.to_string(), value.parse().expect("a number"))
            })
            .collect()
    }

    #[test]
    fn fresh_metrics_export_every_fixed_series_at_zero() {
        let metrics = Metrics::new().unwrap();
        let text = metrics.render(&Live::default()).unwrap();
        let samples = samples(&text);
        for engine in ["stt", "tts"] {
            for name in [
                "hearsay_queue_depth",
                "hearsay_jobs_running",
                "hearsay_audio_seconds_total",
                "hearsay_jobs_cancelled_total",
                "hearsay_queue_wait_seconds_count",
                "hearsay_inference_seconds_count",
                "hearsay_real_time_factor_count",
            ] {
                assert_eq!(samples[&format!("{name}{{engine=\"{engine}\"}}")], 0.0);
            }
        }
        assert_eq!(samples["hearsay_models_loaded{kind=\"stt\"}"], 0.0);
        assert_eq!(samples["hearsay_models_loaded{kind=\"voice\"}"], 0.0);
        // Request series appear with their first request.
        assert!(!text.contains("hearsay_http_request"));
        assert!(text.contains("# TYPE hearsay_real_time_factor histogram\n"));
        assert!(text.contains("# TYPE hearsay_audio_seconds_total counter\n"));
        assert!(text.contains("# TYPE hearsay_queue_depth gauge\n"));
    }

    #[test]
    fn requests_are_counted_by_route_method_and_status() {
        let metrics = Metrics::new().unwrap();
        let second = Duration::from_secs(1);
        metrics.observe_request(Some("/v1/audio/transcriptions"), "POST", 200, second);
        metrics.observe_request(Some("/v1/audio/transcriptions"), "POST", 200, second);
        metrics.observe_request(Some("/v1/audio/transcriptions"), "POST", 401, second);
        metrics.observe_request(None, "GET", 404, second);
        metrics.observe_request(None, "BREW", 404, second);
        let samples = samples(&metrics.render(&Live::default()).unwrap());
        let requests = |labels: &str| samples[&format!("hearsay_http_requests_total{{{labels}}}")];
        assert_eq!(
            requests(r#"method="POST",route="/v1/audio/transcriptions",status="200""#),
            2.0
        );
        assert_eq!(
            requests(r#"method="POST",route="/v1/audio/transcriptions",status="401""#),
            1.0
        );
        assert_eq!(
            requests(r#"method="GET",route="unmatched",status="404""#),
            1.0
        );
        assert_eq!(
            requests(r#"method="other",route="unmatched",status="404""#),
            1.0
        );
        let duration = "hearsay_http_request_duration_seconds";
        assert_eq!(
            samples[&format!(r#"{duration}_count{{route="/v1/audio/transcriptions"}}"#)],
            3.0
        );
        assert_eq!(
            samples[&format!(r#"{duration}_sum{{route="/v1/audio/transcriptions"}}"#)],
            3.0
        );
        assert_eq!(
            samples[&format!(r#"{duration}_bucket{{route="unmatched",le="0.5"}}"#)],
            0.0
        );
        assert_eq!(
            samples[&format!(r#"{duration}_bucket{{route="unmatched",le="1"}}"#)],
            2.0
        );
    }

    #[test]
    fn finished_jobs_feed_inference_audio_and_real_time_factor() {
        let metrics = Metrics::new().unwrap();
        metrics.job_started(Engine::Stt, Duration::from_millis(250));
        metrics.job_finished(Engine::Stt, Duration::from_millis(750), 1.5);
        metrics.job_finished(Engine::Tts, Duration::from_secs(2), 0.0);
        metrics.job_cancelled(Engine::Tts);
        let samples = samples(&metrics.render(&Live::default()).unwrap());
        let get = |series: &str| samples[series];
        assert_eq!(get(r#"hearsay_queue_wait_seconds_sum{engine="stt"}"#), 0.25);
        assert_eq!(
            get(r#"hearsay_queue_wait_seconds_count{engine="stt"}"#),
            1.0
        );
        assert_eq!(get(r#"hearsay_inference_seconds_sum{engine="stt"}"#), 0.75);
        assert_eq!(get(r#"hearsay_audio_seconds_total{engine="stt"}"#), 1.5);
        assert_eq!(get(r#"hearsay_real_time_factor_sum{engine="stt"}"#), 0.5);
        assert_eq!(
            get(r#"hearsay_real_time_factor_bucket{engine="stt",le="0.25"}"#),
            0.0
        );
        assert_eq!(
            get(r#"hearsay_real_time_factor_bucket{engine="stt",le="0.5"}"#),
            1.0
        );
        // No audio: inference is timed, but there is no factor to compute.
        assert_eq!(get(r#"hearsay_inference_seconds_count{engine="tts"}"#), 1.0);
        assert_eq!(get(r#"hearsay_audio_seconds_total{engine="tts"}"#), 0.0);
        assert_eq!(get(r#"hearsay_real_time_factor_count{engine="tts"}"#), 0.0);
        assert_eq!(get(r#"hearsay_jobs_cancelled_total{engine="tts"}"#), 1.0);
        assert_eq!(get(r#"hearsay_jobs_cancelled_total{engine="stt"}"#), 0.0);
    }

    #[test]
    fn live_figures_are_read_at_render_time() {
        let metrics = Metrics::new().unwrap();
        let live = Live {
            stt: Load {
                queued: 3,
                running: 1,
            },
            tts: Load {
                queued: 0,
                running: 2,
            },
            stt_models: 2,
            voices: 5,
        };
        let samples = samples(&metrics.render(&live).unwrap());
        assert_eq!(samples[r#"hearsay_queue_depth{engine="stt"}"#], 3.0);
        assert_eq!(samples[r#"hearsay_jobs_running{engine="stt"}"#], 1.0);
        assert_eq!(samples[r#"hearsay_queue_depth{engine="tts"}"#], 0.0);
        assert_eq!(samples[r#"hearsay_jobs_running{engine="tts"}"#], 2.0);
        assert_eq!(samples[r#"hearsay_models_loaded{kind="stt"}"#], 2.0);
        assert_eq!(samples[r#"hearsay_models_loaded{kind="voice"}"#], 5.0);
        let samples = self::samples(&metrics.render(&Live::default()).unwrap());
        assert_eq!(samples[r#"hearsay_queue_depth{engine="stt"}"#], 0.0);
    }

    #[test]
    fn servers_in_one_process_keep_separate_figures() {
        let first = Metrics::new().unwrap();
        let second = Metrics::new().unwrap();
        first.job_cancelled(Engine::Stt);
        let samples = samples(&second.render(&Live::default()).unwrap());
        assert_eq!(
            samples[r#"hearsay_jobs_cancelled_total{engine="stt"}"#],
            0.0
        );
    }

    #[test]
    fn real_time_factor_is_inference_over_audio() {
        assert_eq!(real_time_factor(Duration::from_secs(3), 1.5), Some(2.0));
        assert_eq!(real_time_factor(Duration::from_millis(750), 1.5), Some(0.5));
        assert_eq!(real_time_factor(Duration::from_secs(1), 0.0), None);
        assert_eq!(real_time_factor(Duration::from_secs(1), f64::NAN), None);
        assert_eq!(real_time_factor(Duration::ZERO, 2.0), Some(0.0));
    }

    #[test]
    fn methods_outside_the_standard_set_share_one_label() {
        assert_eq!(method_label("GET"), "GET");
        assert_eq!(method_label("PATCH"), "PATCH");
        assert_eq!(method_label("get"), "other");
        assert_eq!(method_label("PROPFIND"), "other");
    }
}
