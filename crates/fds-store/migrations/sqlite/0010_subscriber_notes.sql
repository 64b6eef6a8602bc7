-- Analysts' notes on a subscriber (src/notes.rs): the text sealed by the vault
-- (field `note`), the subscriber only as its blind index. Never edited or deleted.
CREATE TABLE subscriber_notes (
    note_id     INTEGER PRIMARY KEY AUTOINCREMENT,
    subscriber  TEXT    NOT NULL,
    text_sealed TEXT    NOT NULL,
    written_by  TEXT    NOT NULL,
    written_at  INTEGER NOT NULL
);
CREATE INDEX subscriber_notes_by_subscriber ON subscriber_notes (subscriber, written_at);

-- The subscriber page lists all of a subscriber's blocks, newest first.
CREATE INDEX blocks_by_subscriber_since ON blocks (subscriber, since);
