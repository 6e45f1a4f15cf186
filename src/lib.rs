//! hearsay: OpenAI's audio API served from the user's own machine.
//!
//! `config` → `models` (find and validate files) → `stt` (engine, workers) → `http` (wire);
//! `metrics` counts what all of them do.

pub mod audio;
pub mod config;
pub mod cpu;
pub mod error;
pub mod http;
pub mod metrics;
pub mod models;
pub mod server;
pub mod stt;
pub mod telemetry;
pub mod tts;

pub use config::ServeConfig;
pub use server::{RunningServer, serve, start};
