//! The FDS event contract and the decision it produces.
//!
//! This crate owns the event schema (telecom and payment events), their validation,
//! PII newtypes, feature values as rules see them, and the `Decision` record with its
//! reasons and blocks. It must never do I/O: no files, no network, no clock reads
//! (callers pass `now` in), so every other crate can depend on it.

pub mod decision;
pub mod event;
pub mod family;
pub mod features;
pub mod ids;
pub mod pii;
mod validate;

pub use decision::{Action, Block, BlockScope, Decision, Label, Outcome, Reason, RuleAction};
pub use event::{
    Call, Channel, DeviceChange, Direction, EntityKind, Event, EventBody, EventType, Field, MerchantCategory,
    Payment, PaymentMethod, PortOut, SimSwap, Sms, Subscription,
};
pub use family::Family;
pub use features::FeatureValue;
pub use pii::Pii;
pub use validate::{Invalid, Problem, MAX_EVENT_BYTES};

/// Event and decision timestamps: always UTC.
pub type Timestamp = chrono::DateTime<chrono::Utc>;
