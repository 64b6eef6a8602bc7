-- One-year retention and legal holds (see `src/retention.rs`).
--
-- A legal hold keeps every decision and event of one subscriber, for a case or
-- on its own, out of retention until it is lifted. Holds are never deleted: a
-- lifted hold keeps who lifted it and when. A subscriber is held while any of
-- its holds is not lifted. Retention on SQLite deletes rows in place and skips
-- the held ones, so there are no hold tables here (Postgres moves held rows
-- out of the partitions it drops).

CREATE TABLE legal_holds (
    hold_id    INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    subscriber TEXT    NOT NULL,
    subscriber_sealed TEXT NOT NULL,
    case_id    TEXT,
    reason     TEXT    NOT NULL,
    placed_by  TEXT    NOT NULL,
    placed_at  INTEGER NOT NULL,
    lifted_by  TEXT,
    lifted_at  INTEGER
);

CREATE INDEX legal_holds_active_by_subscriber ON legal_holds (subscriber) WHERE lifted_at IS NULL;
