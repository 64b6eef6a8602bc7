-- Two-person releases of high-severity blocks, the time-limited allow entries a
-- release may grant (see src/releases.rs), and the API keys made in the console.

-- A release waiting for a second person, then decided once. The person who asked
-- never decides (the CHECK holds even if the code forgot); one pending request per
-- block (the partial unique index).
CREATE TABLE block_release_requests (
    request_id    INTEGER PRIMARY KEY AUTOINCREMENT,
    block_id      TEXT    NOT NULL,
    reason        TEXT    NOT NULL,
    allow_days    INTEGER CHECK (allow_days IS NULL OR allow_days BETWEEN 1 AND 90),
    requested_by  TEXT    NOT NULL,
    requested_at  INTEGER NOT NULL,
    state         TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'approved', 'rejected')),
    decided_by    TEXT,
    decided_at    INTEGER,
    decision_note TEXT,
    CHECK (decided_by IS NULL OR decided_by <> requested_by)
);
CREATE UNIQUE INDEX block_release_requests_one_pending ON block_release_requests (block_id)
    WHERE state = 'pending';
CREATE INDEX block_release_requests_by_state ON block_release_requests (state, request_id);

-- A subscriber allowed for a while after the release of one of their blocks: the
-- pipeline lowers a decision that would block them to review until `until`. The
-- subscriber is the block's (its sealed value and blind index stay in `blocks`).
CREATE TABLE allow_entries (
    allow_id   INTEGER PRIMARY KEY AUTOINCREMENT,
    block_id   TEXT    NOT NULL,
    since      INTEGER NOT NULL,
    until      INTEGER NOT NULL,
    created_by TEXT    NOT NULL,
    reason     TEXT    NOT NULL,
    CHECK (until > since)
);
CREATE INDEX allow_entries_by_until ON allow_entries (until);

-- Every process reads the blocks released since its last poll (a release made by
-- another replica stops refusing payments there too).
CREATE INDEX blocks_by_released_at ON blocks (released_at) WHERE released_at IS NOT NULL;

-- API keys made in the console (src/api_keys.rs): only the SHA-256 of a key is kept
-- (the key is shown once, when made); a revoked key stays listed and is refused.
CREATE TABLE api_keys (
    key_id     INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL,
    scopes     TEXT    NOT NULL,
    digest     TEXT    NOT NULL UNIQUE,
    created_by TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_by TEXT,
    revoked_at INTEGER
);
