-- The tamper-evident audit log (see `src/audit.rs` for the record, the hash and
-- the action vocabulary).
--
-- Records are appended only, by the store, which assigns `seq` and the hashes in
-- the transaction that moves the chain head. The triggers refuse UPDATE, DELETE
-- and TRUNCATE for every role; someone with the rights to disable them can rewrite
-- history, and `fds audit verify` shows where. Not partitioned: the log is small
-- next to decisions and is never dropped by retention.
--
-- `before_state` and `after_state` are `json`, kept verbatim (`jsonb` would refuse
-- `\u0000` in strings); the hash is over their canonical form, so storage does
-- not matter to it.

CREATE TABLE audit_log (
    seq          bigint      NOT NULL PRIMARY KEY,
    prev_hash    text        NOT NULL,
    hash         text        NOT NULL,
    actor        text        NOT NULL,
    action       text        NOT NULL,
    target       text        NOT NULL,
    before_state json,
    after_state  json,
    at           timestamptz NOT NULL
);

CREATE INDEX audit_log_by_target ON audit_log (target, seq);

CREATE FUNCTION fds_audit_log_is_append_only() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_log_refuses_changes BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION fds_audit_log_is_append_only();

CREATE TRIGGER audit_log_refuses_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION fds_audit_log_is_append_only();

-- The chain head: the last assigned `seq` and its hash, one row. An append
-- updates it first, so its row lock queues concurrent appends until the
-- appending transaction commits: the chain never forks and has no gaps.
CREATE TABLE audit_chain_head (
    id   integer NOT NULL PRIMARY KEY CHECK (id = 1),
    seq  bigint  NOT NULL,
    hash text    NOT NULL
);

INSERT INTO audit_chain_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
