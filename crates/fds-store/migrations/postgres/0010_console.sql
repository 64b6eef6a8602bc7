-- The analyst console (see `src/console.rs`): accounts, server-side sessions and
-- the case outcomes that are not labels (escalations).
--
-- Passwords are kept only as argon2id PHC strings (hashed by the caller); the TOTP
-- secret only sealed by the vault (field `totp_secret`). Roles are a comma-separated
-- list of role names, checked by the store on read.

CREATE TABLE console_users (
    user_id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    login           text        NOT NULL UNIQUE,
    display_name    text        NOT NULL,
    roles           text        NOT NULL,
    password_hash   text        NOT NULL,
    -- Sealed; set at enrolment, `totp_enabled` once a first code confirmed it.
    totp_secret     text,
    totp_enabled    boolean     NOT NULL DEFAULT false,
    -- The last time step a code was accepted for: a code is good once.
    totp_last_step  bigint,
    failed_attempts integer     NOT NULL DEFAULT 0,
    locked_until    timestamptz,
    language        text        NOT NULL DEFAULT 'ko' CHECK (language IN ('ko', 'en')),
    disabled        boolean     NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);

-- A session is known only by the SHA-256 of its random id (the cookie holds the
-- id): a copy of this table does not let anyone in. `stage` is `full` once every
-- factor passed; `totp` / `enrol` sessions may only finish the second factor.
CREATE TABLE console_sessions (
    id_hash      text        NOT NULL PRIMARY KEY,
    user_id      bigint      NOT NULL REFERENCES console_users (user_id),
    stage        text        NOT NULL CHECK (stage IN ('totp', 'enrol', 'full')),
    csrf_token   text        NOT NULL,
    created_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL
);

CREATE INDEX console_sessions_by_user ON console_sessions (user_id);
CREATE INDEX console_sessions_by_expiry ON console_sessions (expires_at);

-- Cases an analyst escalated (confirmations and false positives are labels).
CREATE TABLE case_escalations (
    escalation_id bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id      text        NOT NULL,
    reason        text        NOT NULL,
    escalated_by  text        NOT NULL,
    escalated_at  timestamptz NOT NULL
);

CREATE INDEX case_escalations_by_event ON case_escalations (event_id);
CREATE INDEX blocks_by_since ON blocks (since);
