//! Data sets, splits, mini-batches and accuracy.
//!
//! The UCI optical-recognition handwritten digits (test part: 1797 images of 8x8 pixels
//! valued 0..16; CC BY 4.0, creator E. Alpaydin, 1998) are embedded, so examples and tests
//! need no download. See `runtime/data/README.md`.

use std::io::Read;

use ndarray::{Array2, ArrayView2, Axis};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::{Error, Float, Result};

const DIGITS_CSV_GZ: &[u8] = include_bytes!("../data/digits.csv.gz");

/// Examples with one feature row and one class label each.
#[derive(Clone, Debug)]
pub struct Dataset<T> {
    /// `[examples, features]`.
    pub features: Array2<T>,
    /// One class index per example.
    pub labels: Vec<usize>,
    /// Number of classes.
    pub classes: usize,
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
    Ok(Dataset { features, labels, classes })
}

impl<T: Float> Dataset<T> {
    /// Number of examples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no examples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The examples at `indices`, in that order.
    pub fn select(&self, indices: &[usize]) -> Dataset<T> {
        Dataset {
            features: self.features.select(Axis(0), indices),
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
            classes: self.classes,
        }
    }

    /// A stratified split: within each class, a shuffled `test_fraction` goes to the test set.
    /// Deterministic from `seed`. Returns `(train, test)`.
    pub fn stratified_split(&self, test_fraction: f64, seed: u64) -> (Dataset<T>, Dataset<T>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let (mut train, mut test) = (Vec::new(), Vec::new());
        for class in 0..self.classes {
            let mut members: Vec<usize> = (0..self.len()).filter(|&i| self.labels[i] == class).collect();
            members.shuffle(&mut rng);
            let n_test = (members.len() as f64 * test_fraction).round() as usize;
            test.extend_from_slice(&members[..n_test]);
            train.extend_from_slice(&members[n_test..]);
        }
        train.sort_unstable();
        test.sort_unstable();
        (self.select(&train), self.select(&test))
    }

    /// The examples in a fresh random order, cut into batches of `batch_size` (the last may be
    /// smaller). Pass the same `rng` every epoch for a reproducible run.
    pub fn shuffled_batches(&self, batch_size: usize, rng: &mut ChaCha8Rng) -> Vec<Dataset<T>> {
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.shuffle(rng);
        order.chunks(batch_size.max(1)).map(|chunk| self.select(chunk)).collect()
    }
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
