//! Standardization: each feature shifted and scaled to mean 0 and standard deviation 1, with
//! the statistics of the training set applied unchanged to every other set.

use ndarray::{ArrayView2, Axis};

use super::Dataset;
use crate::{Error, Float, Result};

/// Per-feature mean and standard deviation of a training set (population form, as
/// scikit-learn's `StandardScaler`). A constant feature is only shifted.
#[derive(Clone, Debug, PartialEq)]
pub struct Standardizer {
    mean: Vec<f64>,
    std: Vec<f64>,
}

impl Standardizer {
    /// The statistics of `data`'s features.
    pub fn fit<T: Float>(data: &Dataset<T>) -> Result<Self> {
        Self::fit_features(data.features.view())
    }

    /// The statistics of the columns of `features`.
    pub fn fit_features<T: Float>(features: ArrayView2<'_, T>) -> Result<Self> {
        let rows = features.nrows();
        if rows == 0 {
            return Err(Error::EmptyBatch);
        }
        let (mut mean, mut std) = (Vec::new(), Vec::new());
        for column in features.axis_iter(Axis(1)) {
            let m = column.iter().map(|v| v.as_f64()).sum::<f64>() / rows as f64;
            let variance = column.iter().map(|v| (v.as_f64() - m).powi(2)).sum::<f64>() / rows as f64;
            mean.push(m);
            std.push(variance.sqrt());
        }
        Ok(Standardizer { mean, std })
    }

    /// Each feature's mean.
    pub fn mean(&self) -> &[f64] {
        &self.mean
    }

    /// Each feature's standard deviation.
    pub fn std(&self) -> &[f64] {
        &self.std
    }

    /// `data` with every feature standardized; the targets are unchanged.
    pub fn apply<T: Float>(&self, data: &Dataset<T>) -> Result<Dataset<T>> {
        let mut out = data.clone();
        self.apply_in_place(&mut out)?;
        Ok(out)
    }

    /// Standardizes `data`'s features in place; on `Err` (a different number of features)
    /// nothing changed.
    pub fn apply_in_place<T: Float>(&self, data: &mut Dataset<T>) -> Result<()> {
        if data.features.ncols() != self.mean.len() {
            return Err(Error::InputWidth { expected: self.mean.len(), found: data.features.ncols() });
        }
        for (mut column, (&m, &s)) in data.features.axis_iter_mut(Axis(1)).zip(self.mean.iter().zip(&self.std)) {
            let scale = if s > 0.0 { s } else { 1.0 };
            column.mapv_inplace(|v| T::from_f64((v.as_f64() - m) / scale));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn training_statistics_standardize_the_training_set_and_carry_to_others() {
        let train = Dataset::classification(array![[1.0f64, 5.0], [3.0, 5.0], [5.0, 5.0]], vec![0, 1, 0], 2).unwrap();
        let s = Standardizer::fit(&train).unwrap();
        assert_eq!(s.mean(), [3.0, 5.0]);
        assert!((s.std()[0] - (8.0f64 / 3.0).sqrt()).abs() < 1e-15);
        let t = s.apply(&train).unwrap();
        let column = t.features.column(0);
        assert!(column.sum().abs() < 1e-15);
        assert!((column.iter().map(|v| v * v).sum::<f64>() / 3.0 - 1.0).abs() < 1e-15);
        // The constant feature is shifted only.
        assert_eq!(t.features.column(1).to_vec(), [0.0, 0.0, 0.0]);
        let other = Dataset::classification(array![[3.0f64, 6.0]], vec![1], 2).unwrap();
        assert_eq!(s.apply(&other).unwrap().features.row(0).to_vec(), [0.0, 1.0]);
        let mut narrow = Dataset::classification(array![[1.0f64]], vec![0], 2).unwrap();
        assert!(s.apply_in_place(&mut narrow).is_err());
        assert_eq!(narrow.features[[0, 0]], 1.0);
    }
}
