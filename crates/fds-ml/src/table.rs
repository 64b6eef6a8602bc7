//! Reads a labelled table of plain numbers from CSV: a header line, then one row per line,
//! comma separated. Fields may be wrapped in double quotes (without commas or quotes
//! inside); a UTF-8 byte-order mark, surrounding spaces, `\r\n` line ends and blank lines
//! are tolerated. Anything richer (text columns, embedded commas) is out of scope: such
//! columns are dropped by name.

use crate::error::TableError;
use std::io::BufRead;

/// A numeric table split into a feature matrix and a label column.
#[derive(Clone, Debug, PartialEq)]
pub struct LabelledTable {
    /// Feature column names, in file order.
    pub feature_names: Vec<String>,
    /// Row-major feature values (`rows() * feature_names.len()` values).
    pub data: Vec<f64>,
    /// One label per row: `true` for the positive (rare) class.
    pub labels: Vec<bool>,
}

impl LabelledTable {
    pub fn rows(&self) -> usize {
        self.labels.len()
    }

    pub fn positives(&self) -> usize {
        self.labels.iter().filter(|l| **l).count()
    }
}

/// What each header column is used for.
#[derive(Clone, Copy, PartialEq)]
enum Role {
    Feature,
    Label,
    Dropped,
}

/// Reads `reader` as CSV; the column named `label` (0/1 or false/true) becomes the labels,
/// the columns named in `drop` are ignored, and every other column must hold finite numbers.
/// Errors name the 1-based line and the column.
pub fn read_labelled_csv<R: BufRead>(
    reader: R,
    label: &str,
    drop: &[String],
) -> Result<LabelledTable, TableError> {
    let mut lines = reader.lines().enumerate().map(|(i, line)| (i + 1, line));
    let header = loop {
        match lines.next() {
            None => return Err(TableError::Empty),
            Some((_, line)) => {
                let line = line?;
                let line = line.strip_prefix('\u{feff}').unwrap_or(&line);
                if !line.trim().is_empty() {
                    break split(line).map(str::to_string).collect::<Vec<_>>();
                }
            }
        }
    };
    for (i, name) in header.iter().enumerate() {
        if header[..i].contains(name) {
            return Err(TableError::DuplicateColumn(name.clone()));
        }
    }
    if !header.iter().any(|name| name == label) {
        return Err(TableError::MissingLabel(label.to_string()));
    }
    if let Some(missing) = drop.iter().find(|d| !header.contains(d)) {
        return Err(TableError::MissingDrop(missing.clone()));
    }
    let roles: Vec<Role> = header
        .iter()
        .map(|name| {
            if name == label {
                Role::Label
            } else if drop.contains(name) {
                Role::Dropped
            } else {
                Role::Feature
            }
        })
        .collect();
    let feature_names: Vec<String> =
        header.iter().zip(&roles).filter(|(_, r)| **r == Role::Feature).map(|(n, _)| n.clone()).collect();
    if feature_names.is_empty() {
        return Err(TableError::NoFeatures);
    }
    let mut data = Vec::new();
    let mut labels = Vec::new();
    for (line_no, line) in lines {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let mut fields = 0;
        for (i, field) in split(&line).enumerate() {
            fields += 1;
            let Some(role) = roles.get(i) else { continue };
            match role {
                Role::Dropped => {}
                Role::Label => labels.push(
                    parse_label(field)
                        .ok_or_else(|| TableError::BadLabel { line: line_no, column: header[i].clone() })?,
                ),
                Role::Feature => match field.parse::<f64>() {
                    Ok(x) if x.is_finite() => data.push(x),
                    _ => return Err(TableError::NotNumeric { line: line_no, column: header[i].clone() }),
                },
            }
        }
        if fields != header.len() {
            return Err(TableError::RowLength { line: line_no, expected: header.len(), found: fields });
        }
    }
    if labels.is_empty() {
        return Err(TableError::NoRows);
    }
    Ok(LabelledTable { feature_names, data, labels })
}

/// Splits a line on commas, trimming spaces and one pair of surrounding double quotes.
fn split(line: &str) -> impl Iterator<Item = &str> {
    line.split(',').map(|field| {
        let field = field.trim();
        field.strip_prefix('"').and_then(|f| f.strip_suffix('"')).unwrap_or(field)
    })
}

fn parse_label(field: &str) -> Option<bool> {
    if field.eq_ignore_ascii_case("true") {
        return Some(true);
    }
    if field.eq_ignore_ascii_case("false") {
        return Some(false);
    }
    let x: f64 = field.parse().ok()?;
    if x == 1.0 {
        Some(true)
    } else if x == 0.0 {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str, label: &str, drop: &[&str]) -> Result<LabelledTable, TableError> {
        let drop: Vec<String> = drop.iter().map(|d| d.to_string()).collect();
        read_labelled_csv(text.as_bytes(), label, &drop)
    }

    #[test]
    fn features_are_every_column_but_the_label_and_the_dropped_ones() {
        let text = "\u{feff}id,\"x\", y ,is_fraud\r\n7,1.5,2,0\r\n\r\n8,-3,4e2,1\r\n";
        let table = read(text, "is_fraud", &["id"]).expect("reads");
        assert_eq!(table.feature_names, ["x", "y"]);
        assert_eq!(table.data, [1.5, 2.0, -3.0, 400.0]);
        assert_eq!(table.labels, [false, true]);
        assert_eq!((table.rows(), table.positives()), (2, 1));
    }

    #[test]
    fn labels_may_be_booleans_or_numbers() {
        let table = read("x,l\n1,true\n2,FALSE\n3,1.0\n4,0\n", "l", &[]).expect("reads");
        assert_eq!(table.labels, [true, false, true, false]);
        let error = read("x,l\n1,2\n", "l", &[]).expect_err("2 is not a label");
        assert_eq!(error.to_string(), "line 2, label column `l`: expected 0, 1, false or true");
    }

    #[test]
    fn a_non_numeric_value_names_its_line_and_column() {
        let error = read("x,y,l\n1,2,0\n3,abc,1\n", "l", &[]).expect_err("abc");
        assert_eq!(error.to_string(), "line 3, column `y`: not a finite number");
        let error = read("x,l\n,0\n", "l", &[]).expect_err("empty field");
        assert!(matches!(error, TableError::NotNumeric { line: 2, .. }));
        let error = read("x,l\nNaN,0\n", "l", &[]).expect_err("NaN");
        assert!(matches!(error, TableError::NotNumeric { line: 2, .. }));
    }

    #[test]
    fn structural_problems_are_reported() {
        assert!(matches!(read("", "l", &[]), Err(TableError::Empty)));
        assert!(matches!(read("\n\n", "l", &[]), Err(TableError::Empty)));
        assert!(matches!(read("x,l\n", "l", &[]), Err(TableError::NoRows)));
        assert_eq!(
            read("x,y\n1,2\n", "label", &[]).expect_err("no label").to_string(),
            "label column `label` is not in the header"
        );
        assert!(matches!(read("x,l\n1,0\n", "l", &["z"]), Err(TableError::MissingDrop(z)) if z == "z"));
        assert!(matches!(read("x,l\n1,0\n", "l", &["x"]), Err(TableError::NoFeatures)));
        assert!(matches!(read("x,x,l\n1,2,0\n", "l", &[]), Err(TableError::DuplicateColumn(_))));
        assert!(matches!(
            read("x,l\n1,0,5\n", "l", &[]),
            Err(TableError::RowLength { line: 2, expected: 2, found: 3 })
        ));
        assert!(matches!(
            read("x,y,l\n1,0\n", "l", &[]),
            Err(TableError::RowLength { line: 2, expected: 3, found: 2 })
        ));
    }
}
