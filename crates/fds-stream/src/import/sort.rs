//! Puts imported events in event-time order in bounded memory: events are sorted
//! in chunks, each chunk beyond the first is spilled to a temporary run file, and
//! the runs are merged. Equal times keep their input order, so a subscriber's
//! events that share a timestamp replay as the file had them.

use fds_core::Event;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};

/// Sorts what is pushed into it; spills a sorted run every `chunk` events.
pub(crate) struct Sorter {
    chunk: usize,
    buffer: Vec<(i64, u64, Event)>,
    runs: Vec<File>,
    seq: u64,
    dir: tempfile::TempDir,
}

impl Sorter {
    pub(crate) fn new(chunk: usize) -> std::io::Result<Sorter> {
        Ok(Sorter {
            chunk: chunk.max(1),
            buffer: Vec::new(),
            runs: Vec::new(),
            seq: 0,
            dir: tempfile::tempdir()?,
        })
    }

    pub(crate) fn push(&mut self, event: Event) -> std::io::Result<()> {
        self.buffer.push((event.occurred_at.timestamp_micros(), self.seq, event));
        self.seq += 1;
        if self.buffer.len() >= self.chunk {
            self.spill()?;
        }
        Ok(())
    }

    /// Runs spilled so far (none when everything fit in one chunk).
    pub(crate) fn spilled_runs(&self) -> usize {
        self.runs.len()
    }

    fn spill(&mut self) -> std::io::Result<()> {
        self.buffer.sort_unstable_by_key(|(t, seq, _)| (*t, *seq));
        let mut file = tempfile::tempfile_in(self.dir.path())?;
        {
            let mut out = BufWriter::with_capacity(256 * 1024, &mut file);
            for (t, seq, event) in self.buffer.drain(..) {
                let line = serde_json::json!([t, seq, event.to_json()]);
                serde_json::to_writer(&mut out, &line)?;
                out.write_all(b"\n")?;
            }
            out.flush()?;
        }
        std::io::Seek::rewind(&mut file)?;
        self.runs.push(file);
        Ok(())
    }

    /// Every event pushed, in (event time, input order).
    pub(crate) fn finish(mut self) -> std::io::Result<Sorted> {
        if self.runs.is_empty() {
            self.buffer.sort_unstable_by_key(|(t, seq, _)| (*t, *seq));
            let events: Vec<Event> = self.buffer.drain(..).map(|(_, _, e)| e).collect();
            return Ok(Sorted::Memory(events.into_iter()));
        }
        if !self.buffer.is_empty() {
            self.spill()?;
        }
        let mut readers = Vec::with_capacity(self.runs.len());
        let mut heap = BinaryHeap::new();
        for (i, file) in self.runs.drain(..).enumerate() {
            let mut reader = BufReader::with_capacity(64 * 1024, file);
            if let Some((t, seq, event)) = next_entry(&mut reader)? {
                heap.push(Reverse(Head { t, seq, run: i, event: HeapEvent(event) }));
            }
            readers.push(reader);
        }
        Ok(Sorted::Merge { readers, heap, _dir: self.dir })
    }
}

fn next_entry(reader: &mut BufReader<File>) -> std::io::Result<Option<(i64, u64, Event)>> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let bad = |what: String| std::io::Error::new(std::io::ErrorKind::InvalidData, what);
    let (t, seq, value): (i64, u64, serde_json::Value) =
        serde_json::from_str(&line).map_err(|e| bad(format!("sort run: {e}")))?;
    // Validated on the way in; `None` skips the future-time check, which must not
    // refuse now what it accepted a moment ago.
    let event = Event::from_value(value, None).map_err(|e| bad(format!("sort run: {e}")))?;
    Ok(Some((t, seq, event)))
}

/// An event in the merge heap; ordering comes from the head's keys only.
struct HeapEvent(Event);

pub(crate) struct Head {
    t: i64,
    seq: u64,
    run: usize,
    event: HeapEvent,
}

impl PartialEq for Head {
    fn eq(&self, other: &Self) -> bool {
        (self.t, self.seq) == (other.t, other.seq)
    }
}
impl Eq for Head {}
impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Head {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.t, self.seq).cmp(&(other.t, other.seq))
    }
}

/// The sorted events.
pub(crate) enum Sorted {
    Memory(std::vec::IntoIter<Event>),
    Merge { readers: Vec<BufReader<File>>, heap: BinaryHeap<Reverse<Head>>, _dir: tempfile::TempDir },
}

impl Iterator for Sorted {
    type Item = std::io::Result<Event>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Sorted::Memory(events) => events.next().map(Ok),
            Sorted::Merge { readers, heap, .. } => {
                let Reverse(head) = heap.pop()?;
                match next_entry(&mut readers[head.run]) {
                    Ok(Some((t, seq, event))) => {
                        heap.push(Reverse(Head { t, seq, run: head.run, event: HeapEvent(event) }))
                    }
                    Ok(None) => {}
                    Err(error) => return Some(Err(error)),
                }
                Some(Ok(head.event.0))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn event(id: &str, minute: u32) -> Event {
        let at = chrono::Utc.with_ymd_and_hms(2026, 11, 21, 10, minute, 0).unwrap();
        Event::from_value(
            serde_json::json!({
                "event_id": id, "occurred_at": at.to_rfc3339(), "subscriber": "01012345678",
                "type": "payment", "amount": 1000, "method": "carrier_billing",
                "merchant_id": "m", "merchant_category": "game"
            }),
            None,
        )
        .unwrap()
    }

    fn sorted_ids(chunk: usize, minutes: &[u32]) -> (Vec<String>, usize) {
        let mut sorter = Sorter::new(chunk).unwrap();
        for (i, m) in minutes.iter().enumerate() {
            sorter.push(event(&format!("e{i}"), *m)).unwrap();
        }
        let runs = sorter.spilled_runs();
        let ids = sorter.finish().unwrap().map(|e| e.unwrap().event_id).collect();
        (ids, runs)
    }

    #[test]
    fn spilled_runs_merge_into_event_time_order_keeping_input_order_on_ties() {
        let minutes = [9, 3, 3, 7, 1, 9, 0, 3, 5, 2, 8];
        let (merged, runs) = sorted_ids(3, &minutes);
        let (in_memory, none) = sorted_ids(100, &minutes);
        assert!(runs >= 3, "the small chunk spills");
        assert_eq!(none, 0);
        assert_eq!(merged, in_memory);
        assert_eq!(merged, ["e6", "e4", "e9", "e1", "e2", "e7", "e8", "e3", "e10", "e0", "e5"]);
    }
}
