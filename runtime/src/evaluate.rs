//! Evaluation mode: the training loss of a data set without dropout and with running batch
//! statistics, accuracy and a confusion matrix, and predictions as probabilities and classes.

use std::fmt;

use ndarray::{Array2, ArrayView2, Axis};

use crate::targets::{TargetData, check_targets};
use crate::{Error, Float, LossKind, Model, NetworkInfo, ParamStore, Result, Targets};

/// Rows evaluated per forward call: bounds the memory of evaluating a large data set.
pub(crate) const EVALUATION_CHUNK: usize = 1024;

/// What [`Model::evaluate`] measures on a data set.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    /// The mean loss, defined as in training (weight penalties included), in evaluation mode.
    pub loss: f64,
    /// The weight penalties' part of `loss` (0 without a regularizer): `loss − penalty` is
    /// the data loss alone (the cross-entropy or squared error).
    pub penalty: f64,
    /// The fraction of examples classified correctly, for classifiers (softmax
    /// cross-entropy; binary cross-entropy counts each output at the 0.5 threshold).
    pub accuracy: Option<f64>,
    /// Counts of (true class, predicted class), for softmax cross-entropy.
    pub confusion: Option<ConfusionMatrix>,
    /// Examples evaluated.
    pub examples: usize,
}

/// Counts of examples by true class (rows) and predicted class (columns).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfusionMatrix {
    classes: usize,
    counts: Vec<usize>,
    names: Vec<String>,
}

impl ConfusionMatrix {
    /// The matrix of `classes` classes for these true and predicted classes.
    pub fn new(classes: usize, truth: &[usize], predicted: &[usize]) -> Self {
        let mut counts = vec![0; classes * classes];
        for (&t, &p) in truth.iter().zip(predicted) {
            if t < classes && p < classes {
                counts[t * classes + p] += 1;
            }
        }
        ConfusionMatrix { classes, counts, names: Vec::new() }
    }

    /// The same matrix, printed with these class names instead of indices.
    pub fn with_names(mut self, names: &[String]) -> Self {
        if names.len() == self.classes {
            self.names = names.to_vec();
        }
        self
    }

    /// Number of classes.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// Examples of class `truth` predicted as `predicted`.
    pub fn count(&self, truth: usize, predicted: usize) -> usize {
        self.counts[truth * self.classes + predicted]
    }

    /// Of the examples of class `c`, the fraction predicted as `c` (`None` if there are none).
    pub fn recall(&self, c: usize) -> Option<f64> {
        let row: usize = (0..self.classes).map(|p| self.count(c, p)).sum();
        (row > 0).then(|| self.count(c, c) as f64 / row as f64)
    }

    /// Of the examples predicted as `c`, the fraction that are `c` (`None` if there are none).
    pub fn precision(&self, c: usize) -> Option<f64> {
        let column: usize = (0..self.classes).map(|t| self.count(t, c)).sum();
        (column > 0).then(|| self.count(c, c) as f64 / column as f64)
    }

    fn name(&self, c: usize) -> String {
        self.names.get(c).cloned().unwrap_or_else(|| c.to_string())
    }
}

impl fmt::Display for ConfusionMatrix {
    /// Rows: true class; columns: predicted class; then each class's recall.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = (0..self.classes).map(|c| self.name(c)).collect();
        let total = self.counts.iter().max().copied().unwrap_or(0);
        let width = names.iter().map(String::len).chain([total.to_string().len(), 4]).max().unwrap_or(4);
        write!(f, "{:>width$} │", "true")?;
        for name in &names {
            write!(f, " {name:>width$}")?;
        }
        writeln!(f, " │ recall")?;
        for (t, name) in names.iter().enumerate() {
            write!(f, "{name:>width$} │")?;
            for p in 0..self.classes {
                write!(f, " {:>width$}", self.count(t, p))?;
            }
            match self.recall(t) {
                Some(r) => writeln!(f, " │ {:>5.1}%", 100.0 * r)?,
                None => writeln!(f, " │     -")?,
            }
        }
        Ok(())
    }
}

/// The mean loss of `outputs` (the last layer's values) against validated targets, as the
/// training graph defines it but for the weight penalties.
pub(crate) fn data_loss<T: Float>(loss: LossKind, outputs: ArrayView2<'_, T>, targets: &TargetData<'_, T>) -> f64 {
    let rows = outputs.nrows().max(1) as f64;
    match loss {
        LossKind::SoftmaxCrossEntropy => {
            let sum: f64 = outputs
                .rows()
                .into_iter()
                .zip(targets.classes())
                .map(|(z, &label)| {
                    let max = z.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v.as_f64()));
                    let log_sum = z.iter().map(|&v| (v.as_f64() - max).exp()).sum::<f64>().ln() + max;
                    log_sum - z[label].as_f64()
                })
                .sum();
            sum / rows
        }
        LossKind::BinaryCrossEntropy | LossKind::MeanSquaredError => {
            let values = targets.values();
            let sum: f64 = outputs
                .iter()
                .zip(values)
                .map(|(&z, &y)| {
                    let (z, y) = (z.as_f64(), y.as_f64());
                    match loss {
                        // The stable form on logits: max(z, 0) − z·y + log(1 + e^−|z|).
                        LossKind::BinaryCrossEntropy => z.max(0.0) - z * y + (-z.abs()).exp().ln_1p(),
                        _ => (z - y) * (z - y),
                    }
                })
                .sum();
            sum / (rows * outputs.ncols().max(1) as f64)
        }
    }
}

/// The weight penalties of the training loss at the current parameters.
pub(crate) fn penalty<T: Float>(info: &NetworkInfo, params: &ParamStore<T>) -> f64 {
    info.penalties
        .iter()
        .map(|p| {
            let w = params.get(p.param).expect("penalties name parameters of the network");
            let (abs, squares) = w.iter().fold((0.0, 0.0), |(a, s), &v| {
                let v = v.as_f64();
                (a + v.abs(), s + v * v)
            });
            p.l1 * abs + 0.5 * p.l2 * squares
        })
        .sum()
}

/// The class of each row of outputs: the largest for softmax cross-entropy and for binary
/// cross-entropy with several outputs, the 0.5 threshold (a logit above 0) for one output.
pub(crate) fn classes_of<T: Float>(loss: LossKind, outputs: ArrayView2<'_, T>) -> Result<Vec<usize>> {
    match loss {
        LossKind::BinaryCrossEntropy if outputs.ncols() == 1 => {
            Ok(outputs.column(0).iter().map(|&z| usize::from(z > T::zero())).collect())
        }
        LossKind::SoftmaxCrossEntropy | LossKind::BinaryCrossEntropy => Ok(crate::data::argmax_rows(outputs)),
        LossKind::MeanSquaredError => Err(Error::TargetKind {
            loss: "mse",
            expected: "values: a regression network predicts values, not classes (use predict)",
        }),
    }
}

/// Correct predictions among `outputs` for the targets: one per example for softmax
/// cross-entropy, one per output value at the 0.5 threshold for binary cross-entropy.
/// Returns `(correct, counted)`, or `None` for a regression loss.
pub(crate) fn hits<T: Float>(
    loss: LossKind,
    outputs: ArrayView2<'_, T>,
    targets: &TargetData<'_, T>,
) -> Option<(usize, usize)> {
    match loss {
        LossKind::SoftmaxCrossEntropy => {
            let predicted = crate::data::argmax_rows(outputs);
            let correct = predicted.iter().zip(targets.classes()).filter(|(p, t)| p == t).count();
            Some((correct, predicted.len()))
        }
        LossKind::BinaryCrossEntropy => {
            let correct =
                outputs.iter().zip(targets.values()).filter(|&(&z, &y)| (z > T::zero()) == (y.as_f64() >= 0.5)).count();
            Some((correct, outputs.len()))
        }
        LossKind::MeanSquaredError => None,
    }
}

/// Evaluates `net` on `x` and its targets, in chunks.
pub(crate) fn evaluate<'a, M: Model + ?Sized>(
    net: &M,
    x: ArrayView2<'a, M::Scalar>,
    targets: Targets<'a, M::Scalar>,
    class_names: &[String],
) -> Result<Evaluation> {
    let info = M::info();
    let examples = crate::targets::check_input(&x, info.input_width)?;
    let targets = check_targets(info.loss, targets, examples, info.output_width)?;
    let (mut loss, mut correct, mut counted) = (0.0, 0, 0);
    let mut predicted = Vec::with_capacity(examples);
    for start in (0..examples).step_by(EVALUATION_CHUNK) {
        let end = (start + EVALUATION_CHUNK).min(examples);
        let outputs = net.forward(x.slice(ndarray::s![start..end, ..]))?;
        let chunk = match &targets {
            TargetData::Classes(c) => TargetData::Classes(&c[start..end]),
            TargetData::Values(v) => TargetData::Values(v.slice(ndarray::s![start..end, ..]).into()),
        };
        loss += data_loss(info.loss, outputs.view(), &chunk) * (end - start) as f64;
        if let Some((c, n)) = hits(info.loss, outputs.view(), &chunk) {
            correct += c;
            counted += n;
        }
        if info.loss == LossKind::SoftmaxCrossEntropy {
            predicted.extend(crate::data::argmax_rows(outputs.view()));
        }
    }
    let confusion = (info.loss == LossKind::SoftmaxCrossEntropy)
        .then(|| ConfusionMatrix::new(info.output_width, targets.classes(), &predicted).with_names(class_names));
    let penalty = penalty(info, net.params());
    Ok(Evaluation {
        loss: loss / examples as f64 + penalty,
        penalty,
        accuracy: (counted > 0).then(|| correct as f64 / counted as f64),
        confusion,
        examples,
    })
}

/// What [`Model::predict`] returns.
#[derive(Clone, Debug, PartialEq)]
pub struct Predictions<T> {
    /// `[examples, outputs]`: softmax probabilities (softmax cross-entropy), per-output
    /// sigmoid probabilities (binary cross-entropy), or the values themselves (mse).
    pub probabilities: Array2<T>,
    /// The predicted class of each example, for classifiers (empty for mse).
    pub classes: Vec<usize>,
}

/// Applies the loss's output function to the last layer's values.
pub(crate) fn predictions<T: Float>(loss: LossKind, mut outputs: Array2<T>) -> Predictions<T> {
    let classes = classes_of(loss, outputs.view()).unwrap_or_default();
    match loss {
        LossKind::SoftmaxCrossEntropy => {
            for mut row in outputs.axis_iter_mut(Axis(0)) {
                let max = row.iter().fold(T::neg_infinity(), |m, &v| if v > m { v } else { m });
                row.mapv_inplace(|v| (v - max).exp());
                let sum = row.iter().fold(T::zero(), |s, &v| s + v);
                row.mapv_inplace(|v| v / sum);
            }
        }
        LossKind::BinaryCrossEntropy => outputs.mapv_inplace(|z| T::one() / (T::one() + (-z).exp())),
        LossKind::MeanSquaredError => {}
    }
    Predictions { probabilities: outputs, classes }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn softmax_cross_entropy_matches_the_definition() {
        let z = array![[1.0f64, 2.0, 0.5], [0.0, 0.0, 0.0]];
        let loss = data_loss(LossKind::SoftmaxCrossEntropy, z.view(), &TargetData::Classes(&[1, 2]));
        let row0 = -(2.0f64.exp() / (1.0f64.exp() + 2.0f64.exp() + 0.5f64.exp())).ln();
        let row1 = 3.0f64.ln();
        assert!((loss - (row0 + row1) / 2.0).abs() < 1e-12);
    }

    #[test]
    fn binary_cross_entropy_and_mse_match_the_definition() {
        let z = array![[0.3f64, -2.0]];
        let y = array![[1.0f64, 0.25]];
        let sigmoid = |v: f64| 1.0 / (1.0 + (-v).exp());
        let expected = -((sigmoid(0.3)).ln() + 0.25 * sigmoid(-2.0).ln() + 0.75 * (1.0 - sigmoid(-2.0)).ln()) / 2.0;
        let targets = TargetData::Values(y.view().into());
        assert!((data_loss(LossKind::BinaryCrossEntropy, z.view(), &targets) - expected).abs() < 1e-12);
        let mse = ((0.3f64 - 1.0).powi(2) + (-2.0f64 - 0.25).powi(2)) / 2.0;
        assert!((data_loss(LossKind::MeanSquaredError, z.view(), &targets) - mse).abs() < 1e-12);
    }

    #[test]
    fn confusion_matrix_counts_recall_and_precision() {
        let m = ConfusionMatrix::new(3, &[0, 0, 1, 2, 2, 2], &[0, 1, 1, 2, 0, 2]);
        assert_eq!(m.count(0, 1), 1);
        assert_eq!(m.count(2, 0), 1);
        assert_eq!(m.recall(2), Some(2.0 / 3.0));
        assert_eq!(m.precision(0), Some(0.5));
        let text = m.with_names(&["cat".into(), "dog".into(), "emu".into()]).to_string();
        assert!(text.contains("emu"), "{text}");
        assert_eq!(text.lines().count(), 4);
    }

    #[test]
    fn probabilities_sum_to_one_and_classes_are_the_largest() {
        let p = predictions(LossKind::SoftmaxCrossEntropy, array![[1.0f32, 3.0, 2.0], [-1.0, -5.0, -2.0]]);
        for row in p.probabilities.rows() {
            assert!((row.sum() - 1.0).abs() < 1e-6);
        }
        assert_eq!(p.classes, vec![1, 0]);
        let b = predictions(LossKind::BinaryCrossEntropy, array![[0.0f64], [2.0], [-1.0]]);
        assert_eq!(b.classes, vec![0, 1, 0]);
        assert!((b.probabilities[[1, 0]] - 1.0 / (1.0 + (-2.0f64).exp())).abs() < 1e-15);
    }
}
