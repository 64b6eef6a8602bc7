-- The tamper-evident audit log (see `src/audit.rs` for the record, the hash and
-- the action vocabulary).
--
-- Records are appended only, by the store, which assigns `seq` and the hashes in
-- the same write transaction that moves the chain head. The triggers refuse
-- UPDATE and DELETE, so a mistake through SQL cannot rewrite history; someone who
-- drops them can, and `fds audit verify` shows where.

CREATE TABLE audit_log (
    seq          INTEGER NOT NULL PRIMARY KEY,
    prev_hash    TEXT    NOT NULL,
    hash         TEXT    NOT NULL,
    actor        TEXT    NOT NULL,
    action       TEXT    NOT NULL,
    target       TEXT    NOT NULL,
    before_state TEXT,
    after_state  TEXT,
    at           INTEGER NOT NULL
);

CREATE INDEX audit_log_by_target ON audit_log (target, seq);

CREATE TRIGGER audit_log_refuses_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TRIGGER audit_log_refuses_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

-- The chain head: the last assigned `seq` and its hash, one row. Appends update
-- it first, which takes the write lock, so appends queue and never fork the chain.
CREATE TABLE audit_chain_head (
    id   INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT    NOT NULL
);

INSERT INTO audit_chain_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
