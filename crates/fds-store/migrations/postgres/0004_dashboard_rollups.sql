-- Hourly rollups of decisions, for dashboards (see `src/dashboard.rs`).
--
-- Dashboards over 30 days or 12 months read these instead of the decisions: a
-- year of decisions is tens of millions of rows, its rollup at most one row per
-- UTC hour, event type (or family) and action. The store adds to them in the
-- transaction that saves the decisions (only decisions actually stored count, so
-- redeliveries count once), and retention removes the hours before its cut-off in
-- the transaction that drops those decisions.
--
-- `amount` is the sum of the payment amounts (KRW) of the decided events, 0 for
-- other event types. It stays here after the events themselves expire.

CREATE TABLE decision_rollup (
    hour       timestamptz NOT NULL,
    event_type text        NOT NULL,
    action     text        NOT NULL CHECK (action IN ('allow', 'review', 'block')),
    decisions  bigint      NOT NULL,
    amount     bigint      NOT NULL,
    PRIMARY KEY (hour, event_type, action)
);

-- A decision counts once in every family named by one of its rule reasons.
CREATE TABLE decision_family_rollup (
    hour      timestamptz NOT NULL,
    family    text        NOT NULL,
    action    text        NOT NULL CHECK (action IN ('allow', 'review', 'block')),
    decisions bigint      NOT NULL,
    amount    bigint      NOT NULL,
    PRIMARY KEY (hour, family, action)
);

-- Decisions stored before this migration: rolled up from the decisions kept in
-- the partitions (held rows of dropped months are outside the dashboard), with
-- the amounts of the events still stored.
CREATE TEMPORARY TABLE decision_backfill ON COMMIT DROP AS
SELECT date_trunc('hour', d.occurred_at, 'UTC') AS hour,
       d.decision->>'event_type' AS event_type,
       d.action,
       d.decision,
       CASE WHEN e.event_type = 'payment' THEN (e.payload->>'amount')::bigint ELSE 0 END AS amount
FROM decisions d
LEFT JOIN events e ON e.event_id = d.event_id AND e.occurred_at = d.occurred_at;

INSERT INTO decision_rollup (hour, event_type, action, decisions, amount)
SELECT hour, event_type, action, COUNT(*), COALESCE(SUM(amount), 0)
FROM decision_backfill GROUP BY hour, event_type, action;

INSERT INTO decision_family_rollup (hour, family, action, decisions, amount)
SELECT b.hour, f.family, b.action, COUNT(*), COALESCE(SUM(b.amount), 0)
FROM decision_backfill b
CROSS JOIN LATERAL (
    SELECT DISTINCT reason->>'family' AS family
    FROM json_array_elements(b.decision->'reasons') AS reason
    WHERE reason->>'kind' = 'rule'
) AS f
GROUP BY b.hour, f.family, b.action;
