-- PII at rest: every `subscriber` column holds the subscriber's blind index
-- (HMAC-SHA256, see fds-vault), used for lookups; `subscriber_sealed` and the
-- JSON columns hold values sealed by the vault (`v1.<key id>.<nonce>.<ciphertext>`).

-- The FDS data mart on SQLite (the embedded default).
--
-- Timestamps are INTEGER microseconds since the Unix epoch, UTC: they sort and
-- compare as numbers, range queries use plain indexes, and the precision matches
-- Postgres `timestamptz`, so both backends keep the same values.
--
-- There are no foreign keys on purpose: events, decisions and blocks are written
-- together in one transaction by the store, and the Postgres schema partitions
-- decisions by month, where cross-table foreign keys do not fit.

-- Every scored event, as received (the contract's JSON form).
CREATE TABLE events (
    event_id    TEXT    NOT NULL PRIMARY KEY,
    subscriber  TEXT    NOT NULL,
    event_type  TEXT    NOT NULL,
    occurred_at INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    payload     TEXT    NOT NULL
);

CREATE INDEX events_by_subscriber ON events (subscriber, occurred_at);
CREATE INDEX events_by_occurred_at ON events (occurred_at);

-- One decision per event: the full record as JSON, plus the columns searches and
-- dashboards filter on.
CREATE TABLE decisions (
    decision_id   TEXT    NOT NULL PRIMARY KEY,
    event_id      TEXT    NOT NULL UNIQUE,
    subscriber    TEXT    NOT NULL,
    action        TEXT    NOT NULL CHECK (action IN ('allow', 'review', 'block')),
    score         REAL    NOT NULL,
    rules_version TEXT    NOT NULL,
    occurred_at   INTEGER NOT NULL,
    decided_at    INTEGER NOT NULL,
    decision      TEXT    NOT NULL
);

CREATE INDEX decisions_by_subscriber ON decisions (subscriber, occurred_at);
CREATE INDEX decisions_by_action ON decisions (action, occurred_at);
CREATE INDEX decisions_by_occurred_at ON decisions (occurred_at);

-- Blocks created by decisions. A block is active while `since <= now < until`
-- and it has not been released; the release columns stay NULL until an analyst
-- releases it.
CREATE TABLE blocks (
    block_id       TEXT    NOT NULL PRIMARY KEY,
    subscriber     TEXT    NOT NULL,
    subscriber_sealed TEXT NOT NULL,
    scope          TEXT    NOT NULL CHECK (scope IN ('payments', 'all')),
    since          INTEGER NOT NULL,
    until          INTEGER NOT NULL,
    decision_id    TEXT    NOT NULL,
    reason         TEXT    NOT NULL,
    released_at    INTEGER,
    released_by    TEXT,
    release_reason TEXT
);

CREATE INDEX blocks_by_subscriber ON blocks (subscriber, until);
CREATE INDEX blocks_unreleased_by_until ON blocks (until) WHERE released_at IS NULL;

-- Confirmed outcomes, for a single event or for a subscriber as a whole.
CREATE TABLE labels (
    label_id    TEXT    NOT NULL PRIMARY KEY,
    event_id    TEXT,
    subscriber  TEXT,
    subscriber_sealed TEXT,
    outcome     TEXT    NOT NULL CHECK (outcome IN ('fraud', 'legit')),
    note        TEXT,
    labelled_by TEXT    NOT NULL,
    labelled_at INTEGER NOT NULL
);

CREATE INDEX labels_by_event ON labels (event_id);
CREATE INDEX labels_by_subscriber ON labels (subscriber);
CREATE INDEX labels_by_labelled_at ON labels (labelled_at);
