//! Errors at this crate's boundary: reading a ground-truth file.

/// Why a ground-truth file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("reading the truth file failed")]
    Io(#[from] std::io::Error),
    #[error("truth line {line}: {reason}")]
    Truth { line: usize, reason: String },
}
