//! Reading system B's files: JSON Lines or CSV (header row, the event contract's
//! field names), either of them gzip-compressed. Rows come out one at a time with
//! their line number, so memory does not grow with the file.

use flate2::read::MultiGzDecoder;
use serde_json::{Map, Value};
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The two row formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    JsonLines,
    Csv,
}

impl Format {
    /// The format named by the file's extension, looking through a `.gz`.
    pub fn from_path(path: &Path) -> Option<Format> {
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        let name = name.strip_suffix(".gz").unwrap_or(&name);
        if name.ends_with(".csv") {
            Some(Format::Csv)
        } else if name.ends_with(".jsonl") || name.ends_with(".ndjson") || name.ends_with(".json") {
            Some(Format::JsonLines)
        } else {
            None
        }
    }
}

/// One row of a file: its line number (1-based, the header is line 1 in CSV) and
/// either the JSON object to validate or why the row could not even be read.
pub(crate) struct Row {
    pub(crate) line: u64,
    pub(crate) value: Result<Value, String>,
    /// The row as written, for the rejects file.
    pub(crate) raw: String,
}

/// Counts the compressed bytes read, for progress.
struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Opens `path`, decompressing when it starts with the gzip magic bytes.
/// `read` counts the bytes taken from the file itself.
fn open(path: &Path, read: Arc<AtomicU64>) -> std::io::Result<Box<dyn BufRead + Send>> {
    let mut file = BufReader::new(File::open(path)?);
    let gzip = file.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    let counted = Counting { inner: file, read };
    Ok(if gzip {
        Box::new(BufReader::with_capacity(256 * 1024, MultiGzDecoder::new(counted)))
    } else {
        Box::new(BufReader::with_capacity(256 * 1024, counted))
    })
}

/// The rows of one file, in file order.
pub(crate) fn rows(
    path: &Path,
    format: Format,
    read: Arc<AtomicU64>,
) -> std::io::Result<Box<dyn Iterator<Item = std::io::Result<Row>> + Send>> {
    let input = open(path, read)?;
    Ok(match format {
        Format::JsonLines => Box::new(json_lines(input)),
        Format::Csv => Box::new(csv_rows(input)?),
    })
}

fn json_lines(input: Box<dyn BufRead + Send>) -> impl Iterator<Item = std::io::Result<Row>> {
    input.lines().enumerate().filter_map(|(i, line)| {
        let line = match line {
            Ok(line) => line,
            Err(error) if error.kind() == std::io::ErrorKind::InvalidData => {
                return Some(Ok(Row {
                    line: i as u64 + 1,
                    value: Err("line is not valid UTF-8".into()),
                    raw: String::new(),
                }))
            }
            Err(error) => return Some(Err(error)),
        };
        if line.trim().is_empty() {
            return None;
        }
        let value = serde_json::from_str::<Value>(&line).map_err(|e| format!("not valid JSON: {e}"));
        Some(Ok(Row { line: i as u64 + 1, value, raw: line }))
    })
}

fn csv_rows(input: Box<dyn BufRead + Send>) -> std::io::Result<impl Iterator<Item = std::io::Result<Row>>> {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(input);
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("CSV header row: {e}")))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    Ok(reader.into_records().map(move |record| {
        let record = match record {
            Ok(record) => record,
            Err(error) => {
                let line = error.position().map_or(0, |p| p.line());
                return match error.kind() {
                    csv::ErrorKind::Io(_) => Err(std::io::Error::other(error.to_string())),
                    _ => Ok(Row {
                        line,
                        value: Err(format!("unreadable CSV row: {error}")),
                        raw: String::new(),
                    }),
                };
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        let raw = record.iter().collect::<Vec<_>>().join(",");
        if record.len() != headers.len() {
            return Ok(Row {
                line,
                value: Err(format!("row has {} cells, the header has {}", record.len(), headers.len())),
                raw,
            });
        }
        Ok(Row { line, value: Ok(csv_object(&headers, &record)), raw })
    }))
}

/// A CSV row as the contract's JSON object: empty cells are absent, integer and
/// boolean fields get their JSON type when the cell reads as one (otherwise the
/// text is kept, and validation names the field).
fn csv_object(headers: &[String], record: &csv::StringRecord) -> Value {
    let mut object = Map::new();
    for (name, cell) in headers.iter().zip(record.iter()) {
        if cell.is_empty() {
            continue;
        }
        let value = if fds_core::Event::INTEGER_FIELDS.contains(&name.as_str()) {
            cell.trim().parse::<i64>().map_or_else(|_| Value::String(cell.to_string()), Value::from)
        } else if fds_core::Event::BOOLEAN_FIELDS.contains(&name.as_str()) {
            match cell.trim().to_ascii_lowercase().as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => Value::String(cell.to_string()),
            }
        } else {
            Value::String(cell.to_string())
        };
        object.insert(name.clone(), value);
    }
    Value::Object(object)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn collect(path: &Path, format: Format) -> Vec<Row> {
        rows(path, format, Arc::default()).unwrap().map(Result::unwrap).collect()
    }

    #[test]
    fn formats_are_named_by_extension_through_gzip() {
        assert_eq!(Format::from_path(Path::new("a/b.csv.gz")), Some(Format::Csv));
        assert_eq!(Format::from_path(Path::new("b.JSONL")), Some(Format::JsonLines));
        assert_eq!(Format::from_path(Path::new("b.ndjson.gz")), Some(Format::JsonLines));
        assert_eq!(Format::from_path(Path::new("b.txt")), None);
    }

    #[test]
    fn csv_cells_take_the_contract_types_and_empty_cells_are_absent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("day.csv");
        std::fs::write(
            &path,
            "event_id,subscriber,type,amount,contains_url,merchant_id\n\
             e-1,01012345678,payment,49000,,m-1\n\
             e-2,01012345678,sms,12x,TRUE,\n\
             e-3,short\n",
        )
        .unwrap();
        let rows = collect(&path, Format::Csv);
        assert_eq!(rows.len(), 3);
        let first = rows[0].value.as_ref().unwrap();
        assert_eq!(first["amount"], Value::from(49000));
        assert_eq!(first["subscriber"], Value::from("01012345678"));
        assert!(first.get("contains_url").is_none());
        let second = rows[1].value.as_ref().unwrap();
        assert_eq!(second["amount"], Value::from("12x"));
        assert_eq!(second["contains_url"], Value::Bool(true));
        assert_eq!(rows[2].line, 4);
        assert!(rows[2].value.as_ref().unwrap_err().contains("2 cells"));
    }

    #[test]
    fn gzip_json_lines_are_read_with_line_numbers_and_blank_lines_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("day.jsonl.gz");
        let mut gz = flate2::write::GzEncoder::new(File::create(&path).unwrap(), flate2::Compression::fast());
        gz.write_all(b"{\"event_id\":\"a\"}\n\nnot json\n").unwrap();
        gz.finish().unwrap();
        let read = Arc::new(AtomicU64::new(0));
        let rows: Vec<Row> =
            rows(&path, Format::JsonLines, read.clone()).unwrap().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].line, 1);
        assert_eq!(rows[1].line, 3);
        assert!(rows[1].value.as_ref().unwrap_err().starts_with("not valid JSON"));
        assert_eq!(read.load(Ordering::Relaxed), std::fs::metadata(&path).unwrap().len());
    }
}
