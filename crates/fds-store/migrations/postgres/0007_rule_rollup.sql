-- Hourly rule hits (see `src/dashboard.rs`), for `fds rules list` and the console's
-- top rules: a decision counts once for every rule that hit it, by the action it
-- took. Kept up to date by each save, trimmed by retention like the other rollups.
-- Read over days (24 hours, 7 days, 30 days), so there is no daily table.

CREATE TABLE decision_rule_rollup (
    hour      timestamptz NOT NULL,
    rule_id   text        NOT NULL,
    action    text        NOT NULL CHECK (action IN ('allow', 'review', 'block')),
    decisions bigint      NOT NULL,
    amount    bigint      NOT NULL,
    PRIMARY KEY (hour, rule_id, action)
);

-- Decisions stored before this migration (those in the partitions), with the
-- amounts of the events still stored.
INSERT INTO decision_rule_rollup (hour, rule_id, action, decisions, amount)
SELECT date_trunc('hour', d.occurred_at, 'UTC'), r.rule_id, d.action, COUNT(*),
       COALESCE(SUM(CASE WHEN e.event_type = 'payment' THEN (e.payload->>'amount')::bigint ELSE 0 END), 0)
FROM decisions d
CROSS JOIN LATERAL (
    SELECT DISTINCT reason->>'rule_id' AS rule_id
    FROM json_array_elements(d.decision->'reasons') AS reason
    WHERE reason->>'kind' = 'rule'
) AS r
LEFT JOIN events e ON e.event_id = d.event_id AND e.occurred_at = d.occurred_at
GROUP BY 1, 2, 3;
