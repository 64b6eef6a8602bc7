-- Analysts' notes on a subscriber (src/notes.rs): the text sealed by the vault
-- (field `note`), the subscriber only as its blind index. Never edited or deleted.
CREATE TABLE subscriber_notes (
    note_id     bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subscriber  text        COLLATE "C" NOT NULL,
    text_sealed text        NOT NULL,
    written_by  text        NOT NULL,
    written_at  timestamptz NOT NULL
);
CREATE INDEX subscriber_notes_by_subscriber ON subscriber_notes (subscriber, written_at);

-- The subscriber page lists all of a subscriber's blocks, newest first.
CREATE INDEX blocks_by_subscriber_since ON blocks (subscriber, since);
