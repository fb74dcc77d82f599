//! Reading tabular data sets from CSV files: a header row or none, any delimiter, the target
//! column by name or index, class names mapped to indices, or numeric targets for regression.

use std::collections::BTreeSet;
use std::path::Path;

use ndarray::Array2;

use super::Dataset;
use crate::{Error, Float, Result};

/// A column, by its header name or its 0-based index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Column {
    /// The column with this header.
    Name(String),
    /// The column at this position (0-based); negative positions are not needed: see `Last`.
    Index(usize),
    /// The last column.
    Last,
}

impl From<&str> for Column {
    fn from(name: &str) -> Self {
        Column::Name(name.to_string())
    }
}

impl From<usize> for Column {
    fn from(index: usize) -> Self {
        Column::Index(index)
    }
}

/// What the target columns hold.
#[derive(Clone, Debug, PartialEq)]
enum Target {
    /// One column of class labels (any text): classification.
    Classes { column: Column, names: Option<Vec<String>> },
    /// Numeric columns: regression (or binary cross-entropy probabilities).
    Values(Vec<Column>),
}

/// How to read a CSV file into a [`Dataset`]. Every column that is not a target is a feature
/// and must be numeric.
#[derive(Clone, Debug, PartialEq)]
pub struct CsvOptions {
    delimiter: u8,
    header: bool,
    target: Target,
    ignore: Vec<Column>,
}

impl CsvOptions {
    /// Class labels in `column`; a header row; comma-separated. The classes are the distinct
    /// labels, in numeric order if they are all integers, else in text order.
    pub fn classes(column: impl Into<Column>) -> Self {
        CsvOptions {
            delimiter: b',',
            header: true,
            target: Target::Classes { column: column.into(), names: None },
            ignore: Vec::new(),
        }
    }

    /// Numeric targets in `columns` (regression); a header row; comma-separated.
    pub fn values<C: Into<Column>>(columns: impl IntoIterator<Item = C>) -> Self {
        CsvOptions {
            delimiter: b',',
            header: true,
            target: Target::Values(columns.into_iter().map(Into::into).collect()),
            ignore: Vec::new(),
        }
    }

    /// The field delimiter (`b';'`, `b'\t'`).
    pub fn delimiter(mut self, delimiter: u8) -> Self {
        self.delimiter = delimiter;
        self
    }

    /// Whether the first row names the columns (it does by default).
    pub fn header(mut self, header: bool) -> Self {
        self.header = header;
        self
    }

    /// Uses these class names, in this order, instead of those found in the file: for a test
    /// file read with the training file's classes (`train.class_names`). A label that is not
    /// among them is an error.
    pub fn class_names(mut self, names: &[String]) -> Self {
        if let Target::Classes { names: known, .. } = &mut self.target {
            *known = Some(names.to_vec());
        }
        self
    }

    /// Leaves `column` out of the features (an identifier, a free-text note).
    pub fn ignore(mut self, column: impl Into<Column>) -> Self {
        self.ignore.push(column.into());
        self
    }
}

/// Reads the CSV file at `path`.
pub fn read_csv<T: Float>(path: impl AsRef<Path>, options: &CsvOptions) -> Result<Dataset<T>> {
    let path = path.as_ref();
    let text =
        std::fs::read_to_string(path).map_err(|source| Error::Io { path: path.display().to_string(), source })?;
    parse_csv(&text, options).map_err(|e| match e {
        Error::Data(why) => Error::Data(format!("{}: {why}", path.display())),
        other => other,
    })
}

/// Parses CSV text as [`read_csv`] reads a file.
pub fn parse_csv<T: Float>(text: &str, options: &CsvOptions) -> Result<Dataset<T>> {
    let mut reader = ::csv::ReaderBuilder::new()
        .delimiter(options.delimiter)
        .has_headers(options.header)
        .trim(::csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut rows: Vec<(usize, ::csv::StringRecord)> = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| Error::Data(csv_error(&e)))?;
        if record.iter().all(str::is_empty) {
            continue;
        }
        let line = record.position().map_or(0, |p| p.line() as usize);
        rows.push((line, record));
    }
    let headers: Vec<String> = if options.header {
        reader.headers().map_err(|e| Error::Data(csv_error(&e)))?.iter().map(str::to_string).collect()
    } else {
        Vec::new()
    };
    let width = match (rows.first(), headers.is_empty()) {
        (_, false) => headers.len(),
        (Some((_, r)), true) => r.len(),
        (None, true) => return Err(Error::Data("no rows".into())),
    };
    if rows.is_empty() {
        return Err(Error::Data("no rows after the header".into()));
    }
    let resolve = |c: &Column| -> Result<usize> {
        match c {
            Column::Index(i) if *i < width => Ok(*i),
            Column::Index(i) => Err(Error::Data(format!("column {i} does not exist: rows have {width} columns"))),
            Column::Last => Ok(width - 1),
            Column::Name(name) => headers.iter().position(|h| h == name).ok_or_else(|| {
                let known =
                    if headers.is_empty() { "the file has no header row".to_string() } else { headers.join(", ") };
                Error::Data(format!("no column named `{name}`; columns: {known}"))
            }),
        }
    };
    let targets: Vec<usize> = match &options.target {
        Target::Classes { column, .. } => vec![resolve(column)?],
        Target::Values(columns) => columns.iter().map(&resolve).collect::<Result<_>>()?,
    };
    let ignored: Vec<usize> = options.ignore.iter().map(&resolve).collect::<Result<_>>()?;
    let features: Vec<usize> = (0..width).filter(|c| !targets.contains(c) && !ignored.contains(c)).collect();
    if features.is_empty() {
        return Err(Error::Data("no feature columns are left".into()));
    }
    let column_name = |c: usize| headers.get(c).map_or_else(|| format!("{}", c + 1), |h| format!("{} (`{h}`)", c + 1));
    let number = |line: usize, c: usize, cell: &str| -> Result<T> {
        let value: f64 = cell.parse().map_err(|_| {
            let shown = if cell.is_empty() { "an empty cell".to_string() } else { format!("`{cell}`") };
            Error::Data(format!("line {line}, column {}: {shown} is not a number", column_name(c)))
        })?;
        if !value.is_finite() {
            return Err(Error::Data(format!("line {line}, column {}: `{cell}` is not finite", column_name(c))));
        }
        Ok(T::from_f64(value))
    };

    let mut values = Vec::with_capacity(rows.len() * features.len());
    for (line, record) in &rows {
        if record.len() != width {
            return Err(Error::Data(format!("line {line}: {} fields, but the first row has {width}", record.len())));
        }
        for &c in &features {
            values.push(number(*line, c, &record[c])?);
        }
    }
    let x = Array2::from_shape_vec((rows.len(), features.len()), values).expect("every row has every feature");
    match &options.target {
        Target::Values(_) => {
            let mut y = Vec::with_capacity(rows.len() * targets.len());
            for (line, record) in &rows {
                for &c in &targets {
                    y.push(number(*line, c, &record[c])?);
                }
            }
            let y = Array2::from_shape_vec((rows.len(), targets.len()), y).expect("every row has every target");
            Dataset::regression(x, y)
        }
        Target::Classes { names, .. } => {
            let column = targets[0];
            let names = match names {
                Some(names) => names.clone(),
                None => class_order(rows.iter().map(|(_, r)| r[column].to_string()).collect()),
            };
            let mut labels = Vec::with_capacity(rows.len());
            for (line, record) in &rows {
                let label = &record[column];
                let index = names.iter().position(|n| n == label).ok_or_else(|| {
                    Error::Data(format!(
                        "line {line}, column {}: class `{label}` is not one of {}",
                        column_name(column),
                        names.join(", ")
                    ))
                })?;
                labels.push(index);
            }
            let classes = names.len();
            let mut data = Dataset::classification(x, labels, classes)?;
            data.class_names = names;
            Ok(data)
        }
    }
}

/// The distinct labels, in numeric order if all are integers, else in text order.
fn class_order(labels: BTreeSet<String>) -> Vec<String> {
    let mut names: Vec<String> = labels.into_iter().collect();
    if names.iter().all(|n| n.parse::<i64>().is_ok()) {
        names.sort_by_key(|n| n.parse::<i64>().expect("checked above"));
    }
    names
}

fn csv_error(e: &::csv::Error) -> String {
    match e.position() {
        Some(p) => format!("line {}: {}", p.line(), e.kind_message()),
        None => e.to_string(),
    }
}

/// The message of a CSV error without its position (reported separately).
trait KindMessage {
    fn kind_message(&self) -> String;
}

impl KindMessage for ::csv::Error {
    fn kind_message(&self) -> String {
        match self.kind() {
            ::csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
                format!("{len} fields, but the first row has {expected_len}")
            }
            ::csv::ErrorKind::Utf8 { .. } => "not valid UTF-8".into(),
            _ => self.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IRIS: &str =
        "sepal_length,sepal_width,species\n5.1,3.5,setosa\n7.0,3.2,versicolor\n\n6.3,3.3,virginica\n4.9,3.0,setosa\n";

    #[test]
    fn class_names_map_to_indices_in_text_order() {
        let d: Dataset<f64> = parse_csv(IRIS, &CsvOptions::classes("species")).unwrap();
        assert_eq!(d.class_names, ["setosa", "versicolor", "virginica"]);
        assert_eq!(d.labels, [0, 1, 2, 0]);
        assert_eq!(d.classes, 3);
        assert_eq!(d.features.row(1).to_vec(), [7.0, 3.2]);
    }

    #[test]
    fn integer_labels_sort_as_numbers_and_a_given_mapping_is_kept() {
        let text = "a;label\n1;10\n2;9\n3;10\n";
        let d: Dataset<f32> = parse_csv(text, &CsvOptions::classes(Column::Last).delimiter(b';')).unwrap();
        assert_eq!(d.class_names, ["9", "10"]);
        assert_eq!(d.labels, [1, 0, 1]);
        let names = vec!["10".to_string(), "9".to_string(), "11".to_string()];
        let d: Dataset<f32> = parse_csv(text, &CsvOptions::classes(1).delimiter(b';').class_names(&names)).unwrap();
        assert_eq!(d.labels, [0, 1, 0]);
        assert_eq!(d.classes, 3);
        let e = parse_csv::<f32>("a,label\n1,12\n", &CsvOptions::classes(1).class_names(&names)).unwrap_err();
        assert_eq!(e.to_string(), "data: line 2, column 2 (`label`): class `12` is not one of 10, 9, 11");
    }

    #[test]
    fn regression_targets_and_ignored_columns() {
        let text = "id,x1,x2,y\nA,1,2,0.5\nB,3,4,-1.5\n";
        let d: Dataset<f64> = parse_csv(text, &CsvOptions::values(["y"]).ignore("id")).unwrap();
        assert_eq!(d.features.row(1).to_vec(), [3.0, 4.0]);
        assert_eq!(d.values.unwrap().column(0).to_vec(), [0.5, -1.5]);
        assert!(d.labels.is_empty());
    }

    #[test]
    fn without_a_header_columns_are_positions() {
        let d: Dataset<f64> = parse_csv("1,2,a\n3,4,b\n", &CsvOptions::classes(Column::Last).header(false)).unwrap();
        assert_eq!(d.len(), 2);
        let e = parse_csv::<f64>("1,2,a\n", &CsvOptions::classes("label").header(false)).unwrap_err();
        assert!(e.to_string().contains("no header row"), "{e}");
    }

    #[test]
    fn bad_cells_are_reported_with_line_and_column() {
        let cases = [
            ("x,y,c\n1,2,a\n1,oops,b\n", "line 3, column 2 (`y`): `oops` is not a number"),
            ("x,y,c\n1,,a\n", "line 2, column 2 (`y`): an empty cell is not a number"),
            ("x,y,c\n1,2,a\n1,2\n", "line 3: 2 fields, but the first row has 3"),
            ("x,y,c\n1,inf,a\n", "line 2, column 2 (`y`): `inf` is not finite"),
            ("x,y,c\n", "no rows after the header"),
            ("x,y,c\n1,2,a\n", "no column named `label`; columns: x, y, c"),
        ];
        for (text, message) in cases {
            let options =
                if message.contains("`label`") { CsvOptions::classes("label") } else { CsvOptions::classes("c") };
            let e = parse_csv::<f32>(text, &options).unwrap_err();
            assert!(e.to_string().contains(message), "{text:?}: {e}");
        }
    }
}
