-- The model registry (see `src/models.rs`): every trained model artifact with its
-- metrics and training window, and its role. At most one champion (scores live
-- traffic) and one challenger (scored in shadow) per kind; the partial unique index
-- enforces it whatever the caller does. The artifact is model parameters, not PII;
-- it is `text`, kept verbatim.

CREATE TABLE models (
    version             text        NOT NULL PRIMARY KEY,
    kind                text        NOT NULL CHECK (kind IN ('anomaly', 'supervised')),
    role                text        NOT NULL CHECK (role IN ('champion', 'challenger', 'retired')),
    artifact            text        NOT NULL,
    metrics             json        NOT NULL,
    trained_from        timestamptz NOT NULL,
    trained_to          timestamptz NOT NULL,
    feature_schema_hash text        NOT NULL,
    data_hash           text        NOT NULL,
    created_at          timestamptz NOT NULL,
    created_by          text        NOT NULL,
    role_changed_at     timestamptz NOT NULL,
    -- Set when the daily drift of the model's inputs or scores passed the alert threshold.
    needs_retraining_since timestamptz
);

CREATE UNIQUE INDEX models_one_live_role_per_kind ON models (kind, role) WHERE role <> 'retired';

-- Bumped by every registry change, in its transaction (its row lock also queues
-- concurrent changes): what serving processes poll to pick up a promotion without
-- reading the artifacts.
CREATE TABLE model_registry_head (
    id      integer NOT NULL PRIMARY KEY CHECK (id = 1),
    version bigint  NOT NULL
);
INSERT INTO model_registry_head (id, version) VALUES (1, 0);

-- Score histograms per model version and UTC hour (20 bins of width 0.05): the
-- champion's live scores and the challenger's shadow scores, for comparisons and
-- the score PSI.
CREATE TABLE model_score_rollup (
    model_version text        NOT NULL,
    hour          timestamptz NOT NULL,
    bin           smallint    NOT NULL CHECK (bin BETWEEN 0 AND 19),
    scores        bigint      NOT NULL,
    PRIMARY KEY (model_version, hour, bin)
);

-- Input values of the champions per UTC day, counted into the quantile bins of each
-- model's training baseline (see `fds_ml::Baseline`): the live side of input drift.
CREATE TABLE model_input_rollup (
    model_version text        NOT NULL,
    day           date        NOT NULL,
    input         text        NOT NULL,
    bin           smallint    NOT NULL,
    count         bigint      NOT NULL,
    PRIMARY KEY (model_version, day, input, bin)
);

-- The daily population stability index of each input (and `score`) of a model
-- against its training baseline.
CREATE TABLE model_drift (
    model_version text             NOT NULL,
    day           date             NOT NULL,
    input         text             NOT NULL,
    psi           double precision NOT NULL,
    PRIMARY KEY (model_version, day, input)
);
