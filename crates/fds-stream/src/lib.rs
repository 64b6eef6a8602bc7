//! The ingestion edges in front of the one scoring path: the Kafka worker that
//! consumes legacy system A's event topics ([`worker`]) and the import of legacy
//! system B's daily files ([`import`]).
//!
//! Both turn bytes into validated events and hand them to
//! [`fds_pipeline::Pipeline`]; both rely on the store's idempotency by `event_id`
//! so a redelivered message or a re-run file never counts twice. This crate never
//! scores, holds SQL or serves HTTP: those belong to `fds-scoring`, `fds-store`
//! and `fds-web`.

mod config;
mod context;
pub mod dead_letter;
pub mod import;
mod metrics;
pub mod worker;

pub use config::WorkerConfig;
pub use metrics::{WorkerMetrics, PHASES};
pub use worker::{pipeline_config, RunStats, Worker, WorkerError};
