-- Hourly rule hits (see `src/dashboard.rs`), for `fds rules list` and the console's
-- top rules: a decision counts once for every rule that hit it, by the action it
-- took. Kept up to date by each save, trimmed by retention like the other rollups.

CREATE TABLE decision_rule_rollup (
    hour      INTEGER NOT NULL,
    rule_id   TEXT    NOT NULL,
    action    TEXT    NOT NULL CHECK (action IN ('allow', 'review', 'block')),
    decisions INTEGER NOT NULL,
    amount    INTEGER NOT NULL,
    PRIMARY KEY (hour, rule_id, action)
);

-- Decisions stored before this migration, with the amounts of the events still stored.
INSERT INTO decision_rule_rollup (hour, rule_id, action, decisions, amount)
SELECT d.occurred_at - (((d.occurred_at % 3600000000) + 3600000000) % 3600000000),
       r.rule_id,
       d.action,
       COUNT(*),
       COALESCE(SUM(CASE WHEN e.event_type = 'payment' THEN json_extract(e.payload, '$.amount') ELSE 0 END), 0)
FROM decisions d
JOIN (
    SELECT DISTINCT d.event_id AS event_id, json_extract(reason.value, '$.rule_id') AS rule_id
    FROM decisions d, json_each(d.decision, '$.reasons') AS reason
    WHERE json_extract(reason.value, '$.kind') = 'rule'
) AS r ON r.event_id = d.event_id
LEFT JOIN events e ON e.event_id = d.event_id
GROUP BY 1, 2, 3;
