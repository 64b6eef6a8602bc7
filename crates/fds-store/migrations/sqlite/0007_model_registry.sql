-- The model registry (see `src/models.rs`): every trained model artifact with its
-- metrics and training window, and its role. At most one champion (scores live
-- traffic) and one challenger (scored in shadow) per kind; the partial unique index
-- enforces it whatever the caller does. The artifact is model parameters, not PII.

CREATE TABLE models (
    version             TEXT    NOT NULL PRIMARY KEY,
    kind                TEXT    NOT NULL CHECK (kind IN ('anomaly', 'supervised')),
    role                TEXT    NOT NULL CHECK (role IN ('champion', 'challenger', 'retired')),
    artifact            TEXT    NOT NULL,
    metrics             TEXT    NOT NULL,
    trained_from        INTEGER NOT NULL,
    trained_to          INTEGER NOT NULL,
    feature_schema_hash TEXT    NOT NULL,
    data_hash           TEXT    NOT NULL,
    created_at          INTEGER NOT NULL,
    created_by          TEXT    NOT NULL,
    role_changed_at     INTEGER NOT NULL,
    -- Set when the daily drift of the model's inputs or scores passed the alert threshold.
    needs_retraining_since INTEGER
);

CREATE UNIQUE INDEX models_one_live_role_per_kind ON models (kind, role) WHERE role <> 'retired';

-- Bumped by every registry change, in its transaction: what serving processes poll
-- to pick up a promotion without reading the artifacts.
CREATE TABLE model_registry_head (
    id      INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO model_registry_head (id, version) VALUES (1, 0);

-- Score histograms per model version and UTC hour (20 bins of width 0.05): the
-- champion's live scores and the challenger's shadow scores, for comparisons and
-- the score PSI.
CREATE TABLE model_score_rollup (
    model_version TEXT    NOT NULL,
    hour          INTEGER NOT NULL,
    bin           INTEGER NOT NULL CHECK (bin BETWEEN 0 AND 19),
    scores        INTEGER NOT NULL,
    PRIMARY KEY (model_version, hour, bin)
);

-- Input values of the champions per UTC day, counted into the quantile bins of each
-- model's training baseline (see `fds_ml::Baseline`): the live side of input drift.
CREATE TABLE model_input_rollup (
    model_version TEXT    NOT NULL,
    day           INTEGER    NOT NULL,
    input         TEXT    NOT NULL,
    bin           INTEGER    NOT NULL,
    count         INTEGER NOT NULL,
    PRIMARY KEY (model_version, day, input, bin)
);

-- The daily population stability index of each input (and `score`) of a model
-- against its training baseline.
CREATE TABLE model_drift (
    model_version TEXT    NOT NULL,
    day           INTEGER    NOT NULL,
    input         TEXT    NOT NULL,
    psi           REAL    NOT NULL,
    PRIMARY KEY (model_version, day, input)
);
