//! Error types: one enum per boundary (model, metrics, table reading).

/// Training, scoring or (de)serialising a model failed.
#[derive(Debug, thiserror::Error)]
pub enum MlError {
    /// Fewer than two rows: a tree needs at least two points to split.
    #[error("need at least 2 rows to train, got {rows}")]
    TooFewRows { rows: usize },
    /// The flat matrix is not a whole number of rows.
    #[error("data of length {len} is not a multiple of {n_features} features")]
    Ragged { len: usize, n_features: usize },
    /// A value is NaN or infinite.
    #[error("row {row}, feature {feature}: value is not finite")]
    NonFinite { row: usize, feature: usize },
    /// The number of labels differs from the number of rows.
    #[error("{rows} rows but {labels} labels")]
    LabelCount { rows: usize, labels: usize },
    /// A supervised model needs both classes among its training (or calibration) rows.
    #[error("need both positive and negative rows, got {positives} positives and {negatives} negatives")]
    OneClass { positives: usize, negatives: usize },
    /// A parameter is out of range.
    #[error("invalid parameter: {0}")]
    InvalidParams(&'static str),
    /// The number of feature names does not match the model's features.
    #[error("expected {expected} feature names, got {got}")]
    FeatureNames { expected: usize, got: usize },
    /// The artifact was written by an incompatible version of this crate.
    #[error("artifact format version {found} is not supported (this build reads version {supported})")]
    UnsupportedVersion { found: u32, supported: u32 },
    /// The artifact is structurally inconsistent (a corrupt or hand-edited file).
    #[error("corrupt artifact: {0}")]
    CorruptArtifact(String),
    /// A metric on the calibration or hold-out rows is undefined (e.g. one class only).
    #[error("metric: {0}")]
    Metric(#[from] MetricError),
    /// The artifact could not be read or written as JSON.
    #[error("artifact json: {0}")]
    Json(#[from] serde_json::Error),
}

/// A metric could not be computed from the given scores and labels.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MetricError {
    /// Scores and labels have different lengths.
    #[error("{scores} scores but {labels} labels")]
    LengthMismatch { scores: usize, labels: usize },
    /// The metric is undefined without both classes present.
    #[error("need both positive and negative labels, got {positives} positives and {negatives} negatives")]
    OneClass { positives: usize, negatives: usize },
    /// A score or sample value is NaN or infinite.
    #[error("value at index {index} is not finite")]
    NonFinite { index: usize },
    /// A probability is outside 0..=1 (or NaN).
    #[error("value at index {index} is not a probability")]
    NotProbability { index: usize },
    /// A sample is empty.
    #[error("sample is empty")]
    Empty,
    /// Fewer than two bins were asked for.
    #[error("need at least 2 bins, got {0}")]
    TooFewBins(usize),
}

/// A labelled CSV table could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    /// The reader failed.
    #[error("read failed: {0}")]
    Io(#[from] std::io::Error),
    /// No header line.
    #[error("file is empty: expected a header line")]
    Empty,
    /// A header but no data rows.
    #[error("no data rows after the header")]
    NoRows,
    /// The label column is not in the header.
    #[error("label column `{0}` is not in the header")]
    MissingLabel(String),
    /// A column passed to `--drop` is not in the header.
    #[error("dropped column `{0}` is not in the header")]
    MissingDrop(String),
    /// Two header columns share a name.
    #[error("column `{0}` appears twice in the header")]
    DuplicateColumn(String),
    /// Nothing is left to train on after the label and dropped columns.
    #[error("no feature columns left after removing the label and dropped columns")]
    NoFeatures,
    /// A row has a different number of fields from the header.
    #[error("line {line}: {found} fields, the header has {expected}")]
    RowLength { line: usize, expected: usize, found: usize },
    /// A feature value is not a finite number (the value itself is not repeated: it may be personal data).
    #[error("line {line}, column `{column}`: not a finite number")]
    NotNumeric { line: usize, column: String },
    /// A label is not one of 0, 1, false, true.
    #[error("line {line}, label column `{column}`: expected 0, 1, false or true")]
    BadLabel { line: usize, column: String },
}

/// A feature-vector spec cannot serve with the given feature set.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SpecError {
    /// The spec's row layout is not the one this build reads.
    #[error("feature spec version {found} is not supported (this build reads version {supported})")]
    UnsupportedVersion { found: u32, supported: u32 },
    /// The spec names a velocity feature the serving feature set does not declare.
    #[error("the model needs feature `{0}`, which the feature set lacks")]
    MissingFeature(String),
    /// The spec names a feature twice.
    #[error("feature `{0}` appears twice in the spec")]
    Duplicate(String),
    /// The cap on velocity values is not a positive finite number.
    #[error("never_cap must be a positive finite number")]
    InvalidCap,
}
