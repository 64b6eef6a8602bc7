//! Machine-learning models that run beside the Rhai rules, and the measures used to judge them.
//!
//! This crate owns the anomaly model ([`IsolationForest`]: Liu, Ting and Zhou's isolation
//! forest, trained on a row-major `f64` matrix, scoring in 0..1 with per-feature
//! contributions for explanations, serialised as a versioned artifact), the evaluation
//! metrics ([`roc_auc`], [`average_precision`]), the drift measure ([`psi`], [`psi_of_counts`]) and the training [`Baseline`] it compares live counts against, the
//! feature-vector spec stored in every model artifact so training and serving build the
//! same rows ([`FeatureSpec`]), the anomaly model artifact with its score mapping
//! ([`AnomalyArtifact`]), the supervised model ([`BoostedTrees`]: gradient-boosted trees
//! on class-weighted logistic loss with Saabas explanations, calibrated by [`Platt`]
//! scaling, judged by [`brier_score`] and [`reliability`], serialised with its spec,
//! window and metrics as [`SupervisedArtifact`]) and the reader for labelled numeric
//! tables ([`read_labelled_csv`]) that `fds model eval` uses.
//!
//! It must never do I/O of its own (readers and writers are passed in by the caller), run
//! async code or read the clock: training is a pure function of the data, the parameters
//! and the seed, so the same inputs always give the same model.
//!
//! Code map: `forest` is the model and its artifact; `tree` builds and walks one isolation
//! tree stored as a flat node array; `metrics` holds ROC-AUC and average precision; `psi`
//! the population stability index; `drift` the training baseline of inputs and scores; `spec` the feature-vector spec (which inputs make a
//! row); `artifact` the anomaly model artifact (forest + spec + score mapping); `boost`
//! the boosted trees of the supervised model; `calibration` Platt scaling, the Brier
//! score and reliability bins; `supervised` the supervised artifact (trees + calibration
//! + spec + time splits + metrics); `table` the CSV reader; `error` the error types.

mod artifact;
mod boost;
mod calibration;
mod drift;
mod error;
mod forest;
mod metrics;
mod psi;
mod spec;
mod supervised;
mod table;
mod tree;

pub use artifact::{
    data_hash, AnomalyArtifact, TrainingInfo, ANOMALY_FORMAT_VERSION, DEFAULT_QUANTILE,
    DEFAULT_SATURATION_QUANTILE,
};
pub use boost::{BoostParams, BoostedTrees, BOOST_FORMAT_VERSION};
pub use calibration::{brier_score, reliability, Platt, ReliabilityBin};
pub use drift::{Baseline, InputBaseline, INPUT_BINS};
pub use error::{MetricError, MlError, SpecError, TableError};
pub use forest::{average_path_length, IsolationForest, Params, FORMAT_VERSION};
pub use metrics::{average_precision, roc_auc};
pub use psi::{psi, psi_of_counts};
pub use spec::{BoundSpec, EventInputs, FeatureSpec, EVENT_COLUMNS, NEVER_CAP, SPEC_VERSION};
pub use supervised::{
    Evaluation, Labelled, OperatingPoint, Split, SupervisedArtifact, SUPERVISED_FORMAT_VERSION,
};
pub use table::{read_labelled_csv, LabelledTable};
