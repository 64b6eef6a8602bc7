//! `fds import`: legacy system B's daily files through the one scoring path.
//!
//! Two passes in bounded memory. The first reads every file row by row, validates
//! each row against the event contract, writes refused rows to the rejects file
//! (file, line number, every reason) and feeds the valid events to an external
//! sort. The second replays the events in event-time order (so velocity features
//! see a subscriber's history as it happened) through the pipeline in batches, one
//! store round trip per batch to skip events already stored.
//!
//! Re-running a file is harmless: its events are found stored and skipped. A run
//! killed half-way has stored a prefix of the sorted events (the writer saves in
//! order); running it again skips that prefix, and the pipeline's warm-up has
//! replayed it into the velocity state first, so the rest is scored as it would
//! have been.

mod progress;
mod read;
mod sort;

pub use read::Format;

use fds_core::Event;
use fds_pipeline::{Pipeline, Submitted};
use progress::Progress;
use serde_json::json;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
pub struct ImportConfig {
    /// Where refused rows are written, one JSON object per line.
    pub rejects: PathBuf,
    /// Events sorted in memory at once; more spill to temporary files.
    pub sort_chunk: usize,
    /// Events per pipeline batch (one store round trip each).
    pub batch: usize,
    /// Draw a progress bar on standard error.
    pub progress: bool,
}

impl ImportConfig {
    pub fn new(rejects: impl Into<PathBuf>) -> ImportConfig {
        ImportConfig { rejects: rejects.into(), sort_chunk: 200_000, batch: 1_000, progress: false }
    }
}

/// What an import did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// Rows read from the files.
    pub read: u64,
    /// Events scored and stored now.
    pub scored: u64,
    /// Rows refused (in the rejects file).
    pub rejected: u64,
    /// Events already stored, skipped.
    pub duplicates: u64,
    pub elapsed: Duration,
}

impl ImportSummary {
    pub fn events_per_second(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            (self.scored + self.duplicates) as f64 / secs
        } else {
            0.0
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{path}: format unknown (expected .jsonl, .ndjson, .json or .csv, optionally .gz)")]
    UnknownFormat { path: PathBuf },
    #[error("{path}: {error}")]
    Read { path: PathBuf, error: std::io::Error },
    #[error("writing the rejects file {path}: {error}")]
    Rejects { path: PathBuf, error: std::io::Error },
    #[error("sorting the events: {0}")]
    Sort(std::io::Error),
    #[error("the store failed: {0}")]
    Store(#[from] fds_store::StoreError),
}

/// Imports `files` (each in the format its extension names) through `pipeline`.
pub async fn import(
    pipeline: &Pipeline,
    files: &[PathBuf],
    config: &ImportConfig,
) -> Result<ImportSummary, ImportError> {
    let started = Instant::now();
    let mut formats = Vec::with_capacity(files.len());
    let mut total_bytes = 0;
    for path in files {
        let format =
            Format::from_path(path).ok_or_else(|| ImportError::UnknownFormat { path: path.clone() })?;
        let size =
            std::fs::metadata(path).map_err(|error| ImportError::Read { path: path.clone(), error })?.len();
        total_bytes += size;
        formats.push(format);
    }
    let rejects_error = |error| ImportError::Rejects { path: config.rejects.clone(), error };
    let mut rejects = BufWriter::new(File::create(&config.rejects).map_err(rejects_error)?);
    let mut summary = ImportSummary::default();

    // Pass 1: read, validate, sort.
    let read_bytes = Arc::new(AtomicU64::new(0));
    let mut progress = Progress::new(config.progress, "reading", total_bytes, "bytes");
    let mut sorter = sort::Sorter::new(config.sort_chunk).map_err(ImportError::Sort)?;
    let now = pipeline.clock().now();
    for (path, format) in files.iter().zip(formats) {
        let read_error = |error| ImportError::Read { path: path.clone(), error };
        for row in read::rows(path, format, read_bytes.clone()).map_err(read_error)? {
            let row = row.map_err(read_error)?;
            summary.read += 1;
            let checked =
                row.value.map_err(|reason| vec![json!({"field": "$", "reason": reason})]).and_then(|value| {
                    Event::from_value(value, Some(now)).map_err(|invalid| {
                        invalid
                            .problems
                            .iter()
                            .map(|p| json!({"field": p.field, "reason": p.reason}))
                            .collect()
                    })
                });
            match checked {
                Ok(event) => sorter.push(event).map_err(ImportError::Sort)?,
                Err(reasons) => {
                    summary.rejected += 1;
                    write_reject(&mut rejects, path, row.line, reasons, &row.raw).map_err(rejects_error)?;
                }
            }
            progress.set(read_bytes.load(std::sync::atomic::Ordering::Relaxed));
        }
    }
    rejects.flush().map_err(rejects_error)?;
    progress.done();
    let valid = summary.read - summary.rejected;
    tracing::info!(
        read = summary.read,
        rejected = summary.rejected,
        runs = sorter.spilled_runs(),
        "files read"
    );

    // Pass 2: replay in event-time order.
    let mut progress = Progress::new(config.progress, "scoring", valid, "events");
    let mut batch: Vec<(Event, Instant)> = Vec::with_capacity(config.batch);
    let mut done = 0u64;
    for event in sorter.finish().map_err(ImportError::Sort)? {
        batch.push((event.map_err(ImportError::Sort)?, Instant::now()));
        if batch.len() >= config.batch {
            done += submit(pipeline, &mut batch, &mut summary).await?;
            progress.set(done);
        }
    }
    submit(pipeline, &mut batch, &mut summary).await?;
    pipeline.flush().await?;
    progress.done();
    summary.elapsed = started.elapsed();
    Ok(summary)
}

async fn submit(
    pipeline: &Pipeline,
    batch: &mut Vec<(Event, Instant)>,
    summary: &mut ImportSummary,
) -> Result<u64, ImportError> {
    let n = batch.len() as u64;
    if n == 0 {
        return Ok(0);
    }
    let submitted = pipeline.submit_events(std::mem::take(batch)).await?;
    for s in &submitted {
        match s {
            Submitted::New(_) => summary.scored += 1,
            Submitted::Duplicate(_) => summary.duplicates += 1,
        }
    }
    Ok(n)
}

fn write_reject(
    out: &mut impl Write,
    path: &Path,
    line: u64,
    reasons: Vec<serde_json::Value>,
    raw: &str,
) -> std::io::Result<()> {
    let reject = json!({"file": path.display().to_string(), "line": line, "reasons": reasons, "row": raw});
    serde_json::to_writer(&mut *out, &reject)?;
    out.write_all(b"\n")
}
