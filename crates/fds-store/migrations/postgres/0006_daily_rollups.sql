-- Daily rollups beside the hourly ones (migration 0004), for dashboards over
-- months: a year is 8,760 hours but 365 days, so a 12-month dashboard reads about
-- 1/24 of the rows. The store adds to both in the transaction that saves the
-- decisions, and retention removes the days before its cut-off (a month start, so
-- always a whole day) with the hours. Dashboards read whole UTC days from here and
-- the partial days at either end of their window from the hourly tables.

CREATE TABLE decision_rollup_daily (
    day        timestamptz NOT NULL,
    event_type text        NOT NULL,
    action     text        NOT NULL CHECK (action IN ('allow', 'review', 'block')),
    decisions  bigint      NOT NULL,
    amount     bigint      NOT NULL,
    PRIMARY KEY (day, event_type, action)
);

CREATE TABLE decision_family_rollup_daily (
    day       timestamptz NOT NULL,
    family    text        NOT NULL,
    action    text        NOT NULL CHECK (action IN ('allow', 'review', 'block')),
    decisions bigint      NOT NULL,
    amount    bigint      NOT NULL,
    PRIMARY KEY (day, family, action)
);

INSERT INTO decision_rollup_daily (day, event_type, action, decisions, amount)
SELECT date_trunc('day', hour, 'UTC'), event_type, action, SUM(decisions), SUM(amount)
FROM decision_rollup GROUP BY 1, 2, 3;

INSERT INTO decision_family_rollup_daily (day, family, action, decisions, amount)
SELECT date_trunc('day', hour, 'UTC'), family, action, SUM(decisions), SUM(amount)
FROM decision_family_rollup GROUP BY 1, 2, 3;
