-- Rule packs in the store (see `src/packs.rs`): published versions with their files,
-- drafts (changes) made against a version, suppressions and shadow tallies.
--
-- A published version N holds, for every path, the newest row of `rule_pack_files`
-- at or below N; a row with a NULL body removes the path (a retired rule). So a
-- version stores only the files it changed, and the history of a file is its rows.
-- Versions are never updated or deleted.

CREATE TABLE rule_pack_versions (
    version      bigint      NOT NULL PRIMARY KEY CHECK (version >= 1),
    content_hash text        NOT NULL,
    change_id    bigint,
    published_by text        NOT NULL,
    published_at INTEGER     NOT NULL,
    note         text        NOT NULL
);

CREATE TABLE rule_pack_files (
    path    text   NOT NULL,
    version bigint NOT NULL REFERENCES rule_pack_versions (version),
    body    text,
    PRIMARY KEY (path, version)
);

-- A change is a draft of some files against the version it was made from; one
-- person writes it, another publishes it (four eyes), or its author withdraws it.
CREATE TABLE rule_changes (
    change_id         INTEGER     NOT NULL PRIMARY KEY AUTOINCREMENT,
    title             text        NOT NULL,
    author            text        NOT NULL,
    base_version      bigint      NOT NULL,
    state             text        NOT NULL CHECK (state IN ('draft', 'published', 'withdrawn')),
    shadow            INTEGER     NOT NULL DEFAULT 0,
    created_at        INTEGER     NOT NULL,
    updated_at        INTEGER     NOT NULL,
    published_version bigint REFERENCES rule_pack_versions (version),
    closed_by         text,
    closed_at         INTEGER    ,
    CHECK (state <> 'published' OR (published_version IS NOT NULL AND closed_by <> author)),
    CHECK (shadow = 0 OR state = 'draft')
);

CREATE TABLE rule_change_files (
    change_id bigint NOT NULL REFERENCES rule_changes (change_id),
    path      text   NOT NULL,
    body      text,
    PRIMARY KEY (change_id, path)
);

-- An analyst silences one rule for one entity until `expires_at`, with a reason.
-- `entity` is JSON `{"<kind>": "<value>"}` with PII values sealed; `entity_index`
-- is the blind index of a PII value (the value itself for a merchant).
CREATE TABLE rule_suppressions (
    suppression_id INTEGER     NOT NULL PRIMARY KEY AUTOINCREMENT,
    rule_id        text        NOT NULL,
    entity_kind    text        NOT NULL CHECK (entity_kind IN ('subscriber', 'identity', 'imei', 'card', 'account', 'merchant', 'callee')),
    entity_index   text        NOT NULL,
    entity         text        NOT NULL,
    reason         text        NOT NULL,
    created_by     text        NOT NULL,
    created_at     INTEGER     NOT NULL,
    expires_at     INTEGER     NOT NULL CHECK (expires_at > created_at),
    lifted_by      text,
    lifted_at      INTEGER    
);

CREATE INDEX rule_suppressions_active ON rule_suppressions (expires_at) WHERE lifted_at IS NULL;

-- What a change in shadow did on live traffic, by hour: per rule its hits and how
-- many of those the live decision also reviewed or blocked (overlap); on the row
-- with rule_id '' the events evaluated and the decisions whose action would change.
CREATE TABLE rule_shadow_tallies (
    change_id bigint      NOT NULL REFERENCES rule_changes (change_id),
    rule_id   text        NOT NULL,
    hour      INTEGER     NOT NULL,
    evaluated bigint      NOT NULL,
    hits      bigint      NOT NULL,
    overlap   bigint      NOT NULL,
    changed   bigint      NOT NULL,
    PRIMARY KEY (change_id, rule_id, hour)
);

-- Bumped by every change that replicas must pick up (a publish, a shadow switched,
-- a suppression added or lifted): what they poll.
CREATE TABLE rule_epoch (
    id    integer NOT NULL PRIMARY KEY CHECK (id = 1),
    epoch bigint  NOT NULL
);
INSERT INTO rule_epoch (id, epoch) VALUES (1, 0);
