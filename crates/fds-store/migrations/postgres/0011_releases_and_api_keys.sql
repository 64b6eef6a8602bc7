-- Two-person releases of high-severity blocks, the time-limited allow entries a
-- release may grant (see src/releases.rs), and the API keys made in the console.

-- A release waiting for a second person, then decided once. The person who asked
-- never decides (the CHECK holds even if the code forgot); one pending request per
-- block (the partial unique index).
CREATE TABLE block_release_requests (
    request_id    bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    block_id      text        NOT NULL,
    reason        text        NOT NULL,
    allow_days    bigint      CHECK (allow_days IS NULL OR allow_days BETWEEN 1 AND 90),
    requested_by  text        NOT NULL,
    requested_at  timestamptz NOT NULL,
    state         text        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'approved', 'rejected')),
    decided_by    text,
    decided_at    timestamptz,
    decision_note text,
    CHECK (decided_by IS NULL OR decided_by <> requested_by)
);
CREATE UNIQUE INDEX block_release_requests_one_pending ON block_release_requests (block_id)
    WHERE state = 'pending';
CREATE INDEX block_release_requests_by_state ON block_release_requests (state, request_id);

-- A subscriber allowed for a while after the release of one of their blocks: the
-- pipeline lowers a decision that would block them to review until `until`. The
-- subscriber is the block's (its sealed value and blind index stay in `blocks`).
CREATE TABLE allow_entries (
    allow_id   bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    block_id   text        NOT NULL,
    since      timestamptz NOT NULL,
    until      timestamptz NOT NULL,
    created_by text        NOT NULL,
    reason     text        NOT NULL,
    CHECK (until > since)
);
CREATE INDEX allow_entries_by_until ON allow_entries (until);

-- Every process reads the blocks released since its last poll (a release made by
-- another replica stops refusing payments there too).
CREATE INDEX blocks_by_released_at ON blocks (released_at) WHERE released_at IS NOT NULL;

-- API keys made in the console (src/api_keys.rs): only the SHA-256 of a key is kept
-- (the key is shown once, when made); a revoked key stays listed and is refused.
CREATE TABLE api_keys (
    key_id     bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text        NOT NULL,
    scopes     text        NOT NULL,
    digest     text        NOT NULL UNIQUE,
    created_by text        NOT NULL,
    created_at timestamptz NOT NULL,
    revoked_by text,
    revoked_at timestamptz
);
