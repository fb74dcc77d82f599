//! Data sets, splits, mini-batches and accuracy.
//!
//! The UCI optical-recognition handwritten digits (test part: 1797 images of 8x8 pixels
//! valued 0..16; CC BY 4.0, creator E. Alpaydin, 1998) are embedded, so examples and tests
//! need no download. See `runtime/data/README.md`.

use std::io::Read;

mod csv;
mod idx;
mod standardize;

pub use csv::{Column, CsvOptions, parse_csv, read_csv};
pub use idx::{mnist, read_idx_images, read_idx_labels};
pub use standardize::Standardizer;

use ndarray::{Array2, ArrayView2, Axis};
pub use rand::SeedableRng;
use rand::seq::SliceRandom;
/// The generator `shuffled_batches` takes: `Rng::seed_from_u64(seed)`, no extra crates needed.
pub use rand_chacha::ChaCha8Rng as Rng;
use rand_chacha::ChaCha8Rng;

use crate::{Error, Float, Result};

const DIGITS_CSV_GZ: &[u8] = include_bytes!("../../data/digits.csv.gz");

/// Examples: one feature row each, and either a class label or a row of target values.
#[derive(Clone, Debug)]
pub struct Dataset<T> {
    /// `[examples, features]`.
    pub features: Array2<T>,
    /// One class index per example (empty when the targets are `values`).
    pub labels: Vec<usize>,
    /// Number of classes (0 when the targets are `values`).
    pub classes: usize,
    /// `[examples, outputs]` target values, for regression (mse) and binary cross-entropy.
    pub values: Option<Array2<T>>,
    /// The name of each class, when the data named them (a CSV file's labels).
    pub class_names: Vec<String>,
}

/// The embedded digits: 1797 examples, 64 features scaled to [0, 1], 10 classes.
pub fn digits<T: Float>() -> Result<Dataset<T>> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(DIGITS_CSV_GZ)
        .read_to_string(&mut text)
        .map_err(|e| Error::Data(format!("embedded digits: {e}")))?;
    parse_labelled_csv(&text, 16.0)
}

/// Parses CSV rows of numeric features followed by an integer label; features are divided by
/// `scale`.
pub fn parse_labelled_csv<T: Float>(text: &str, scale: f64) -> Result<Dataset<T>> {
    let (mut values, mut labels, mut width) = (Vec::new(), Vec::new(), None);
    for (line_no, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let bad = |what: &str| Error::Data(format!("line {}: {what}", line_no + 1));
        let Some((label, features)) = fields.split_last() else {
            continue;
        };
        if *width.get_or_insert(features.len()) != features.len() {
            return Err(bad("row width differs from the first row"));
        }
        for f in features {
            let v: f64 = f.parse().map_err(|_| bad(&format!("`{f}` is not a number")))?;
            values.push(T::from_f64(v / scale));
        }
        labels.push(label.parse::<usize>().map_err(|_| bad(&format!("label `{label}` is not a class index")))?);
    }
    let width = width.ok_or_else(|| Error::Data("no rows".into()))?;
    let classes = labels.iter().max().map_or(0, |m| m + 1);
    let features = Array2::from_shape_vec((labels.len(), width), values).expect("rows have equal width");
    Dataset::classification(features, labels, classes)
}

impl<T: Float> Dataset<T> {
    /// A classification data set: `features` `[examples, features]` and one label in
    /// `0..classes` per example.
    pub fn classification(features: Array2<T>, labels: Vec<usize>, classes: usize) -> Result<Self> {
        if labels.len() != features.nrows() {
            return Err(Error::TargetCount { expected: features.nrows(), found: labels.len() });
        }
        if let Some((example, &index)) = labels.iter().enumerate().find(|&(_, &l)| l >= classes) {
            return Err(Error::ClassIndex { example, index, classes });
        }
        Ok(Dataset { features, labels, classes, values: None, class_names: Vec::new() })
    }

    /// A data set with a row of target values per example (regression, or binary
    /// cross-entropy's probabilities).
    pub fn regression(features: Array2<T>, values: Array2<T>) -> Result<Self> {
        if values.nrows() != features.nrows() {
            return Err(Error::TargetCount { expected: features.nrows(), found: values.nrows() });
        }
        Ok(Dataset { features, labels: Vec::new(), classes: 0, values: Some(values), class_names: Vec::new() })
    }

    /// The targets, as `train_step` and `evaluate` take them.
    pub fn targets(&self) -> crate::Targets<'_, T> {
        match &self.values {
            Some(v) => crate::Targets::Values(v.view()),
            None => crate::Targets::Classes(&self.labels),
        }
    }

    /// The name of class `c`: its name in the data, or its index.
    pub fn class_name(&self, c: usize) -> String {
        self.class_names.get(c).cloned().unwrap_or_else(|| c.to_string())
    }

    /// Number of examples.
    pub fn len(&self) -> usize {
        self.features.nrows()
    }

    /// Whether there are no examples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The examples at `indices`, in that order.
    pub fn select(&self, indices: &[usize]) -> Dataset<T> {
        Dataset {
            features: self.features.select(Axis(0), indices),
            labels: if self.labels.is_empty() { Vec::new() } else { indices.iter().map(|&i| self.labels[i]).collect() },
            classes: self.classes,
            values: self.values.as_ref().map(|v| v.select(Axis(0), indices)),
            class_names: self.class_names.clone(),
        }
    }

    /// A stratified split: within each class, a shuffled `test_fraction` goes to the test set
    /// (a data set with target values is split at random). Deterministic from `seed`.
    /// Returns `(train, test)`; [`Dataset::split_indices`] gives the rows.
    pub fn stratified_split(&self, test_fraction: f64, seed: u64) -> (Dataset<T>, Dataset<T>) {
        let (train, test) = self.split_indices(test_fraction, seed);
        (self.select(&train), self.select(&test))
    }

    /// The rows of [`Dataset::stratified_split`]: `(train, test)`, each in increasing order.
    pub fn split_indices(&self, test_fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let fraction = test_fraction.clamp(0.0, 1.0);
        let groups: Vec<Vec<usize>> = if self.values.is_some() || self.classes == 0 {
            vec![(0..self.len()).collect()]
        } else {
            (0..self.classes).map(|c| (0..self.len()).filter(|&i| self.labels[i] == c).collect()).collect()
        };
        let (mut train, mut test) = (Vec::new(), Vec::new());
        for mut members in groups {
            members.shuffle(&mut rng);
            let n_test = (members.len() as f64 * fraction).round() as usize;
            test.extend_from_slice(&members[..n_test]);
            train.extend_from_slice(&members[n_test..]);
        }
        train.sort_unstable();
        test.sort_unstable();
        (train, test)
    }

    /// Train, validation and test sets, stratified as [`Dataset::stratified_split`], with
    /// the rows each came from.
    pub fn three_way_split(&self, validation_fraction: f64, test_fraction: f64, seed: u64) -> Splits<T> {
        let (rest, test) = self.split_indices(test_fraction, seed);
        let remaining = self.select(&rest);
        // The validation share of what the test set left.
        let share = validation_fraction / (1.0 - test_fraction.clamp(0.0, 1.0)).max(f64::MIN_POSITIVE);
        let (train, validation) = remaining.split_indices(share, seed.wrapping_add(1));
        let (train, validation): (Vec<usize>, Vec<usize>) =
            (train.iter().map(|&i| rest[i]).collect(), validation.iter().map(|&i| rest[i]).collect());
        Splits {
            train: self.select(&train),
            validation: self.select(&validation),
            test: self.select(&test),
            indices: [train, validation, test],
        }
    }

    /// The examples in a fresh random order, cut into batches of `batch_size` (the last may be
    /// smaller). Pass the same `rng` every epoch for a reproducible run.
    pub fn shuffled_batches(&self, batch_size: usize, rng: &mut ChaCha8Rng) -> Vec<Dataset<T>> {
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.shuffle(rng);
        order.chunks(batch_size.max(1)).map(|chunk| self.select(chunk)).collect()
    }
}

/// Three disjoint parts of a data set and the rows each holds.
#[derive(Clone, Debug)]
pub struct Splits<T> {
    /// For training.
    pub train: Dataset<T>,
    /// For choosing hyperparameters and early stopping.
    pub validation: Dataset<T>,
    /// For the final figure only.
    pub test: Dataset<T>,
    /// The rows of the original data in `train`, `validation` and `test`, in increasing order.
    pub indices: [Vec<usize>; 3],
}

/// The index of the largest value of each row.
pub fn argmax_rows<T: Float>(scores: ArrayView2<'_, T>) -> Vec<usize> {
    scores
        .rows()
        .into_iter()
        .map(|row| {
            row.iter()
                .enumerate()
                .fold((0, T::neg_infinity()), |best, (i, &v)| if v > best.1 { (i, v) } else { best })
                .0
        })
        .collect()
}

/// The fraction of rows whose largest score is at the label's index.
pub fn accuracy<T: Float>(scores: ArrayView2<'_, T>, labels: &[usize]) -> f64 {
    if labels.is_empty() {
        return 0.0;
    }
    let hits = argmax_rows(scores).iter().zip(labels).filter(|(p, l)| p == l).count();
    hits as f64 / labels.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_load_with_the_documented_size() {
        let d = digits::<f32>().unwrap();
        assert_eq!(d.features.dim(), (1797, 64));
        assert_eq!(d.classes, 10);
        assert!(d.features.iter().all(|&v| (0.0..=1.0).contains(&v)));
    }

    #[test]
    fn split_is_stratified_disjoint_and_deterministic() {
        let d = digits::<f32>().unwrap();
        let (train, test) = d.stratified_split(0.25, 7);
        assert_eq!(train.len() + test.len(), d.len());
        for class in 0..10 {
            let total = d.labels.iter().filter(|&&l| l == class).count() as f64;
            let in_test = test.labels.iter().filter(|&&l| l == class).count() as f64;
            assert!((in_test - 0.25 * total).abs() <= 0.5, "class {class}");
        }
        let (_, again) = d.stratified_split(0.25, 7);
        assert_eq!(test.labels, again.labels);
        assert_eq!(test.features, again.features);
    }

    #[test]
    fn malformed_csv_is_an_error() {
        assert!(parse_labelled_csv::<f32>("1,2,3\n1,2\n", 1.0).is_err());
        assert!(parse_labelled_csv::<f32>("1,x,3\n", 1.0).is_err());
        assert!(parse_labelled_csv::<f32>("", 1.0).is_err());
    }
}
