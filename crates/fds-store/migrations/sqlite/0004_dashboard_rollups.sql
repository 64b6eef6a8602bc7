-- Hourly rollups of decisions, for dashboards (see `src/dashboard.rs`); the same
-- tables as on Postgres. `hour` is the start of the UTC hour in microseconds.
--
-- The store adds to them in the transaction that saves the decisions (only
-- decisions actually stored count, so redeliveries count once), and retention
-- removes the hours before its cut-off in the transaction that deletes those
-- decisions. `amount` is the sum of the payment amounts (KRW) of the decided
-- events, 0 for other event types; it stays here after the events expire.

CREATE TABLE decision_rollup (
    hour       INTEGER NOT NULL,
    event_type TEXT    NOT NULL,
    action     TEXT    NOT NULL CHECK (action IN ('allow', 'review', 'block')),
    decisions  INTEGER NOT NULL,
    amount     INTEGER NOT NULL,
    PRIMARY KEY (hour, event_type, action)
);

-- A decision counts once in every family named by one of its rule reasons.
CREATE TABLE decision_family_rollup (
    hour      INTEGER NOT NULL,
    family    TEXT    NOT NULL,
    action    TEXT    NOT NULL CHECK (action IN ('allow', 'review', 'block')),
    decisions INTEGER NOT NULL,
    amount    INTEGER NOT NULL,
    PRIMARY KEY (hour, family, action)
);

-- Decisions stored before this migration, with the amounts of the events still
-- stored. Hours are floored, also before 1970. (Held decisions an earlier
-- retention run kept past its cut-off are counted until the next run removes
-- their hours.)
CREATE TEMPORARY TABLE decision_backfill AS
SELECT d.event_id AS event_id,
       d.occurred_at - (((d.occurred_at % 3600000000) + 3600000000) % 3600000000) AS hour,
       json_extract(d.decision, '$.event_type') AS event_type,
       d.action AS action,
       CASE WHEN e.event_type = 'payment' THEN json_extract(e.payload, '$.amount') ELSE 0 END AS amount
FROM decisions d
LEFT JOIN events e ON e.event_id = d.event_id;

INSERT INTO decision_rollup (hour, event_type, action, decisions, amount)
SELECT hour, event_type, action, COUNT(*), COALESCE(SUM(amount), 0)
FROM decision_backfill GROUP BY hour, event_type, action;

INSERT INTO decision_family_rollup (hour, family, action, decisions, amount)
SELECT b.hour, f.family, b.action, COUNT(*), COALESCE(SUM(b.amount), 0)
FROM decision_backfill b
JOIN (
    SELECT DISTINCT d.event_id AS event_id, json_extract(reason.value, '$.family') AS family
    FROM decisions d, json_each(d.decision, '$.reasons') AS reason
    WHERE json_extract(reason.value, '$.kind') = 'rule'
) AS f ON f.event_id = b.event_id
GROUP BY b.hour, f.family, b.action;

DROP TABLE decision_backfill;
