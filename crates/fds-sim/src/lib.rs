//! Seeded, labelled synthetic traffic for demos, evaluation, tests and benchmarks.
//!
//! This crate owns the traffic simulator ([`Simulator`]: an endless, deterministic stream
//! of telecom and payment events following the event contract of `fds-core`), its ground
//! truth ([`Truth`]: which subscriber lines belong to which fraud actor and family, and
//! which legit subscribers are voice-phishing victims) and the detection report that
//! compares decisions with that truth ([`Tally`], [`DetectionReport`]).
//!
//! It must never be used by production code paths (only by `fds demo`, `fds eval`,
//! `fds sim`, tests and benchmarks), and it does no I/O of its own: writers and readers
//! take `std::io::Write` / `BufRead` handles that the caller opens.
//!
//! Code map: `simulator` runs the time-ordered queue of agents; `legit` is the legit
//! population (and new legit subscriptions); `families` plans each fraud family's actors,
//! one file per family, each documenting the pattern it produces; `rhythm` is the daily
//! rhythm in KST; `ids` hands out subscriber numbers, IMEIs, cards and the like; `draft`
//! turns a planned event into contract JSON; `truth` and `report` are the ground truth
//! and the detection report.

mod config;
mod draft;
mod error;
mod families;
mod ids;
mod legit;
mod report;
mod rhythm;
mod simulator;
mod truth;
mod world;

pub use config::SimConfig;
pub use error::SimError;
pub use families::irsf::IRSF_PREFIXES;
pub use report::{DetectionReport, FamilyRecall, LegitImpact, Tally, VictimImpact};
pub use simulator::Simulator;
pub use truth::{Family, Truth, TruthLine, Victim};
