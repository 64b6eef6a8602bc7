-- Fewer index entries per stored decision: the write path maintained ten per event
-- (four tables), and the insert rate is bound by them. Each lookup the store makes
-- keeps an index that serves it:
--
-- * `decisions`: one key on (event_id, occurred_at) — the read by event id, and the
--   idempotency guard's partner — instead of a primary key on the decision id plus a
--   unique key on the event id. The decision id is derived from the event id
--   (`fds_core::ids`), so it stays unique without an index of its own. The index on
--   `occurred_at` alone served nothing the rollups do not; the index by action now
--   covers only the decisions an analyst looks at (review and block, about 5 % of
--   them), not the allowed ones.
-- * `events`: one key on (occurred_at, event_id) serves both the event-time paging of
--   replays and the lookups by event id (which know `occurred_at` from `event_ids`),
--   instead of a primary key and a second index on the same two columns.
--
-- The key columns (event ids, blind indexes) compare byte-wise (`COLLATE "C"`): they
-- are identifiers, not words, so the database's linguistic collation only made every
-- index comparison slower, and byte order is the order the SQLite store pages events
-- in.
--
-- On an existing database the new keys are built from the stored rows; expect this
-- migration to take minutes per hundred million rows.

ALTER TABLE decisions DROP CONSTRAINT decisions_pkey;
ALTER TABLE decisions DROP CONSTRAINT decisions_event_id_occurred_at_key;
ALTER TABLE decisions
    ALTER COLUMN event_id TYPE text COLLATE "C",
    ALTER COLUMN subscriber TYPE text COLLATE "C";
ALTER TABLE decisions ADD PRIMARY KEY (event_id, occurred_at);
DROP INDEX decisions_by_occurred_at;
DROP INDEX decisions_by_action;
CREATE INDEX decisions_flagged ON decisions (action, occurred_at) WHERE action <> 'allow';

ALTER TABLE events DROP CONSTRAINT events_pkey;
DROP INDEX events_by_occurred_at;
ALTER TABLE events
    ALTER COLUMN event_id TYPE text COLLATE "C",
    ALTER COLUMN subscriber TYPE text COLLATE "C";
ALTER TABLE events ADD PRIMARY KEY (occurred_at, event_id);

ALTER TABLE event_ids ALTER COLUMN event_id TYPE text COLLATE "C";
ALTER TABLE held_decisions
    ALTER COLUMN event_id TYPE text COLLATE "C",
    ALTER COLUMN subscriber TYPE text COLLATE "C";
ALTER TABLE held_events
    ALTER COLUMN event_id TYPE text COLLATE "C",
    ALTER COLUMN subscriber TYPE text COLLATE "C";
ALTER TABLE blocks ALTER COLUMN subscriber TYPE text COLLATE "C";
