//! Dead letters: why a message could not become an event, and the headers that
//! carry that reason, with where the message came from, to the dead-letter topic.
//! The original key, payload and headers travel unchanged.

use fds_core::Invalid;
use rdkafka::message::{Header, Headers, Message, OwnedHeaders, OwnedMessage};
use std::fmt;

/// Header naming the error.
pub const ERROR_HEADER: &str = "fds-error";
/// Headers naming the source of the message.
pub const SOURCE_TOPIC_HEADER: &str = "fds-source-topic";
pub const SOURCE_PARTITION_HEADER: &str = "fds-source-partition";
pub const SOURCE_OFFSET_HEADER: &str = "fds-source-offset";

/// Why a message was refused.
#[derive(Debug)]
pub(crate) enum Rejected {
    /// No payload at all (a tombstone or an empty produce).
    Empty,
    TooLarge {
        bytes: usize,
        limit: usize,
    },
    /// Not JSON, or JSON that breaks the event contract: every problem listed.
    Invalid(Invalid),
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejected::Empty => write!(f, "message has no payload"),
            Rejected::TooLarge { bytes, limit } => {
                write!(f, "message is {bytes} bytes, the limit is {limit}")
            }
            Rejected::Invalid(invalid) => write!(f, "{invalid}"),
        }
    }
}

/// The original headers followed by the error and the source coordinates.
pub(crate) fn dead_letter_headers(m: &OwnedMessage, rejected: &Rejected) -> OwnedHeaders {
    let mut out = OwnedHeaders::new();
    if let Some(headers) = m.headers() {
        for h in headers.iter() {
            out = out.insert(Header { key: h.key, value: h.value });
        }
    }
    let reason = rejected.to_string();
    let partition = m.partition().to_string();
    let offset = m.offset().to_string();
    out.insert(Header { key: ERROR_HEADER, value: Some(reason.as_bytes()) })
        .insert(Header { key: SOURCE_TOPIC_HEADER, value: Some(m.topic().as_bytes()) })
        .insert(Header { key: SOURCE_PARTITION_HEADER, value: Some(partition.as_bytes()) })
        .insert(Header { key: SOURCE_OFFSET_HEADER, value: Some(offset.as_bytes()) })
}
