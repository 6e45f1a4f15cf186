//! HTTP tests against the real server on an ephemeral port, with generated models.

mod common;
mod converted;
mod errors;
mod formats;
mod load;
mod metrics;
mod process;
mod responses;
mod scheduling;
mod service;
mod speech;
mod vad;
