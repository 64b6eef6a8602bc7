-- PII at rest: every `subscriber` column holds the subscriber's blind index
-- (HMAC-SHA256, see fds-vault), used for lookups; `subscriber_sealed` and the
-- JSON columns hold values sealed by the vault (`v1.<key id>.<nonce>.<ciphertext>`).

-- The FDS data mart on Postgres (production).
--
-- The same tables and columns as the SQLite schema, with Postgres types:
-- timestamps are `timestamptz` (microsecond precision, like the SQLite integers),
-- the stored JSON (event payloads, decisions) is `json`, kept verbatim as the
-- application wrote it. Not `jsonb`: it refuses `\u0000` in strings, which an
-- unknown extra field of an event may carry, and one such event would fail its
-- whole batch.
--
-- `events` and `decisions` are partitioned by month of `occurred_at` (UTC), so
-- retention drops whole partitions instead of deleting rows, and time-bounded
-- dashboards read only the months they cover. Partitions are created ahead by
-- `fds_create_month_partitions` (below): the store calls it at open for the
-- coming months, and before each batch for any month the batch needs that it has
-- not seen yet. There is no default partition: a row for a month without a
-- partition fails loudly instead of piling up where retention cannot drop it.
--
-- There are no foreign keys on purpose: events, decisions and blocks are written
-- together in one transaction by the store, and foreign keys into partitioned
-- tables would have to carry the partition key.

-- Idempotency by event id. A unique key on a partitioned table must include the
-- partition key, so `events` can only be unique on (event_id, occurred_at): the
-- same event id redelivered with another `occurred_at` would slip through. This
-- unpartitioned table is the one place an event id is unique; the store inserts
-- here first (`ON CONFLICT DO NOTHING RETURNING`) and writes the event, its
-- decision and block only for the ids that are new. `occurred_at` locates the
-- event's partition for lookups by id. Retention deletes the rows of the months it
-- drops together with their partitions.
CREATE TABLE event_ids (
    event_id    text        NOT NULL PRIMARY KEY,
    occurred_at timestamptz NOT NULL
);

CREATE INDEX event_ids_by_occurred_at ON event_ids (occurred_at);

-- Every scored event, as received (the contract's JSON form).
CREATE TABLE events (
    event_id    text        NOT NULL,
    subscriber  text        NOT NULL,
    event_type  text        NOT NULL,
    occurred_at timestamptz NOT NULL,
    received_at timestamptz NOT NULL,
    payload     json        NOT NULL,
    PRIMARY KEY (event_id, occurred_at)
) PARTITION BY RANGE (occurred_at);

CREATE INDEX events_by_subscriber ON events (subscriber, occurred_at);
CREATE INDEX events_by_occurred_at ON events (occurred_at, event_id);

-- One decision per event: the full record as JSON, plus the columns searches and
-- dashboards filter on. Filed under its event's `occurred_at` (the same instant
-- the decision records), so an event and its decision share a month.
CREATE TABLE decisions (
    decision_id   text             NOT NULL,
    event_id      text             NOT NULL,
    subscriber    text             NOT NULL,
    action        text             NOT NULL CHECK (action IN ('allow', 'review', 'block')),
    score         double precision NOT NULL,
    rules_version text             NOT NULL,
    occurred_at   timestamptz      NOT NULL,
    decided_at    timestamptz      NOT NULL,
    decision      json             NOT NULL,
    PRIMARY KEY (decision_id, occurred_at),
    UNIQUE (event_id, occurred_at)
) PARTITION BY RANGE (occurred_at);

CREATE INDEX decisions_by_subscriber ON decisions (subscriber, occurred_at);
CREATE INDEX decisions_by_action ON decisions (action, occurred_at);
CREATE INDEX decisions_by_occurred_at ON decisions (occurred_at);

-- Creates the monthly partitions of `events` and `decisions` for the months
-- (UTC) containing each of `months`, skipping those that exist; returns how many
-- tables it created. Partitions are named `<table>_YYYY_MM`.
--
-- Concurrent callers (several replicas saving the first batch of a new month)
-- take turns on a transaction-level advisory lock, so two never race to create
-- the same table. Callers run it in a transaction of its own, before the inserts
-- that need the partitions.
CREATE FUNCTION fds_create_month_partitions(months timestamptz[]) RETURNS integer
LANGUAGE plpgsql
SET timezone = 'UTC'
AS $$
DECLARE
    month_start timestamptz;
    parent      text;
    partition   text;
    created     integer := 0;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('fds_create_month_partitions'));
    FOR month_start IN SELECT DISTINCT date_trunc('month', m) FROM unnest(months) AS m ORDER BY 1 LOOP
        FOREACH parent IN ARRAY ARRAY['events', 'decisions'] LOOP
            partition := format('%s_%s', parent, to_char(month_start, 'YYYY_MM'));
            IF to_regclass(format('%I', partition)) IS NULL THEN
                EXECUTE format(
                    'CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                    partition, parent, month_start, month_start + interval '1 month'
                );
                created := created + 1;
            END IF;
        END LOOP;
    END LOOP;
    RETURN created;
END
$$;

-- Creates the partitions of the current month (by the database clock, UTC) and
-- of the `ahead` months after it; returns how many tables it created. The store
-- calls it at open; a scheduler may call it too.
CREATE FUNCTION fds_create_partitions_ahead(ahead integer) RETURNS integer
LANGUAGE sql
SET timezone = 'UTC'
AS $$
    SELECT fds_create_month_partitions(ARRAY(
        SELECT generate_series(date_trunc('month', now()),
                               date_trunc('month', now()) + make_interval(months => ahead),
                               interval '1 month')
    ))
$$;

-- Blocks created by decisions. A block is active while `since <= now < until`
-- and it has not been released; the release columns stay NULL until an analyst
-- releases it.
CREATE TABLE blocks (
    block_id       text        NOT NULL PRIMARY KEY,
    subscriber     text        NOT NULL,
    subscriber_sealed text     NOT NULL,
    scope          text        NOT NULL CHECK (scope IN ('payments', 'all')),
    since          timestamptz NOT NULL,
    until          timestamptz NOT NULL,
    decision_id    text        NOT NULL,
    reason         text        NOT NULL,
    released_at    timestamptz,
    released_by    text,
    release_reason text
);

CREATE INDEX blocks_by_subscriber ON blocks (subscriber, until);
CREATE INDEX blocks_unreleased_by_until ON blocks (until) WHERE released_at IS NULL;

-- Confirmed outcomes, for a single event or for a subscriber as a whole.
CREATE TABLE labels (
    label_id    text        NOT NULL PRIMARY KEY,
    event_id    text,
    subscriber  text,
    subscriber_sealed text,
    outcome     text        NOT NULL CHECK (outcome IN ('fraud', 'legit')),
    note        text,
    labelled_by text        NOT NULL,
    labelled_at timestamptz NOT NULL
);

CREATE INDEX labels_by_event ON labels (event_id);
CREATE INDEX labels_by_subscriber ON labels (subscriber);
CREATE INDEX labels_by_labelled_at ON labels (labelled_at);
