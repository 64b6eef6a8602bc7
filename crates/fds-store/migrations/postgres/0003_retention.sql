-- One-year retention and legal holds (see `src/retention.rs`).
--
-- A legal hold keeps every decision and event of one subscriber, for a case or
-- on its own, out of retention until it is lifted. Holds are never deleted: a
-- lifted hold keeps who lifted it and when. A subscriber is held while any of
-- its holds is not lifted.
--
-- Retention drops whole month partitions. Before it drops one, it copies the held
-- rows of that month into `held_decisions` / `held_events` (same columns,
-- unpartitioned) in the same transaction, so they survive the drop; reads by
-- event id and by subscriber union them back in. Their `event_ids` rows are kept,
-- so a redelivered held event is still a duplicate. Once the hold is lifted, the
-- next retention run deletes them from here like any other expired row.

CREATE TABLE legal_holds (
    hold_id    bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subscriber text        NOT NULL,
    subscriber_sealed text NOT NULL,
    case_id    text,
    reason     text        NOT NULL,
    placed_by  text        NOT NULL,
    placed_at  timestamptz NOT NULL,
    lifted_by  text,
    lifted_at  timestamptz
);

CREATE INDEX legal_holds_active_by_subscriber ON legal_holds (subscriber) WHERE lifted_at IS NULL;

CREATE TABLE held_decisions (
    decision_id   text             NOT NULL PRIMARY KEY,
    event_id      text             NOT NULL UNIQUE,
    subscriber    text             NOT NULL,
    action        text             NOT NULL CHECK (action IN ('allow', 'review', 'block')),
    score         double precision NOT NULL,
    rules_version text             NOT NULL,
    occurred_at   timestamptz      NOT NULL,
    decided_at    timestamptz      NOT NULL,
    decision      json             NOT NULL
);

CREATE INDEX held_decisions_by_subscriber ON held_decisions (subscriber, occurred_at);
CREATE INDEX held_decisions_by_occurred_at ON held_decisions (occurred_at);

CREATE TABLE held_events (
    event_id    text        NOT NULL PRIMARY KEY,
    subscriber  text        NOT NULL,
    event_type  text        NOT NULL,
    occurred_at timestamptz NOT NULL,
    received_at timestamptz NOT NULL,
    payload     json        NOT NULL
);

CREATE INDEX held_events_by_subscriber ON held_events (subscriber, occurred_at);
CREATE INDEX held_events_by_occurred_at ON held_events (occurred_at, event_id);
