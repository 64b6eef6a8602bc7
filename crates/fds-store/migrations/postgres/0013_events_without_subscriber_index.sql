-- One index fewer on the write path: `events` loses its index by subscriber. Its one
-- reader, a subscriber's latest events on the console, now walks the subscriber's
-- decisions (`decisions_by_subscriber`, newest first) and takes each event by its key:
-- every stored event has its decision, written in the same transaction and filed in
-- the same month. The index cost about a third of an event's insert (measured on
-- 100,000 rows: 2.4–2.5 s with it, 1.7–1.8 s without) and a year of it would take
-- disk for an index nothing else read.
DROP INDEX events_by_subscriber;
