-- The analyst console (see `src/console.rs`): accounts, server-side sessions and
-- the case outcomes that are not labels (escalations).
--
-- Passwords are kept only as argon2id PHC strings (hashed by the caller); the TOTP
-- secret only sealed by the vault (field `totp_secret`). Roles are a comma-separated
-- list of role names, checked by the store on read.

CREATE TABLE console_users (
    user_id         INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    login           TEXT    NOT NULL UNIQUE,
    display_name    TEXT    NOT NULL,
    roles           TEXT    NOT NULL,
    password_hash   TEXT    NOT NULL,
    -- Sealed; set at enrolment, `totp_enabled` once a first code confirmed it.
    totp_secret     TEXT,
    totp_enabled    INTEGER NOT NULL DEFAULT 0 CHECK (totp_enabled IN (0, 1)),
    -- The last time step a code was accepted for: a code is good once.
    totp_last_step  INTEGER,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    locked_until    INTEGER,
    language        TEXT    NOT NULL DEFAULT 'ko' CHECK (language IN ('ko', 'en')),
    disabled        INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);

-- A session is known only by the SHA-256 of its random id (the cookie holds the
-- id): a copy of this table does not let anyone in. `stage` is `full` once every
-- factor passed; `totp` / `enrol` sessions may only finish the second factor.
CREATE TABLE console_sessions (
    id_hash      TEXT    NOT NULL PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES console_users (user_id),
    stage        TEXT    NOT NULL CHECK (stage IN ('totp', 'enrol', 'full')),
    csrf_token   TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);

CREATE INDEX console_sessions_by_user ON console_sessions (user_id);
CREATE INDEX console_sessions_by_expiry ON console_sessions (expires_at);

-- Cases an analyst escalated (confirmations and false positives are labels).
CREATE TABLE case_escalations (
    escalation_id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    event_id      TEXT    NOT NULL,
    reason        TEXT    NOT NULL,
    escalated_by  TEXT    NOT NULL,
    escalated_at  INTEGER NOT NULL
);

CREATE INDEX case_escalations_by_event ON case_escalations (event_id);

-- Block searches read blocks by when they started.
CREATE INDEX blocks_by_since ON blocks (since);
