//! Hidden activations read for inspection, and the lecture's statistics of them: mean and
//! standard deviation per layer, the fraction of saturated sigmoid/tanh outputs and of dead
//! ReLU units.
//!
//! They come from a compiled graph of their own (the inference graph with every layer's output
//! kept), so the training step and `forward` are not slowed by them.

use std::fmt;

use ndarray::{ArrayD, ArrayViewD, Axis, IxDyn};

use crate::{Error, Float, NetworkInfo, Result};

/// A sigmoid output this close to 0 or 1, or a tanh output this close to ±1, counts as
/// saturated: its derivative is then below 1% (tanh: 2%) of its largest value, so the layer
/// passes almost no gradient back.
pub const SATURATION_MARGIN: f64 = 0.01;

/// How batch norm computes when activations are inspected.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// As `forward`: batch norm normalizes with its running statistics.
    #[default]
    Evaluation,
    /// As the training step: batch norm normalizes with the batch's own statistics (a batch
    /// norm frozen with `set_trainable(layer, false)` or `#[frozen]` keeps its running ones).
    /// Running statistics are not updated, and dropout stays off, so that what a layer
    /// computes is not hidden behind a random mask.
    Training,
}

/// One layer's output for a batch.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerActivations<T> {
    /// The layer's name (`fc1`).
    pub name: &'static str,
    /// Its DSL kind (`dense`, `relu`, `batch_norm`).
    pub kind: &'static str,
    /// `[batch, features]` or `[batch, C, H, W]`.
    pub values: ArrayD<T>,
}

/// Every layer's output for one batch, in layer order (see [`Mode`] for batch norm; no
/// dropout). A dropout layer shows its input.
#[derive(Clone, Debug, PartialEq)]
pub struct Activations<T> {
    layers: Vec<LayerActivations<T>>,
}

impl<T: Float> Activations<T> {
    /// Pairs the compiled inspection graph's outputs (one flat buffer per layer, in layer
    /// order) with the network's layer table.
    pub(crate) fn new(info: &NetworkInfo, batch: usize, outputs: Vec<Vec<T>>) -> Self {
        assert_eq!(outputs.len(), info.layers.len(), "the inspection graph outputs one buffer per layer");
        let layers = info
            .layers
            .iter()
            .zip(outputs)
            .map(|(layer, values)| {
                let shape: Vec<usize> = std::iter::once(batch).chain(layer.output_shape.iter().copied()).collect();
                let values = ArrayD::from_shape_vec(IxDyn(&shape), values).expect("generated code sizes each output");
                LayerActivations { name: layer.name, kind: layer.kind, values }
            })
            .collect();
        Activations { layers }
    }

    /// Every layer's output, in layer order.
    pub fn layers(&self) -> &[LayerActivations<T>] {
        &self.layers
    }

    /// The output of the layer called `name`.
    pub fn get(&self, name: &str) -> Result<ArrayViewD<'_, T>> {
        match self.layers.iter().find(|l| l.name == name) {
            Some(layer) => Ok(layer.values.view()),
            None => Err(Error::UnknownName {
                what: "layer",
                name: name.to_string(),
                known: self.layers.iter().map(|l| l.name).collect::<Vec<_>>().join(", "),
            }),
        }
    }

    /// The statistics of every layer's output.
    pub fn stats(&self) -> Vec<ActivationStats> {
        self.layers.iter().map(|l| ActivationStats::of(l.name, l.kind, l.values.view())).collect()
    }
}

/// What one layer's outputs look like over a batch.
#[derive(Clone, Debug, PartialEq)]
pub struct ActivationStats {
    /// The layer's name.
    pub layer: String,
    /// Its DSL kind (`relu`).
    pub kind: String,
    /// The mean of all its outputs.
    pub mean: f64,
    /// Their standard deviation (population: divided by the count).
    pub std: f64,
    /// For sigmoid and tanh layers: the fraction of outputs within [`SATURATION_MARGIN`] of
    /// the function's bounds (sigmoid: below 0.01 or above 0.99; tanh: |y| above 0.99).
    pub saturated: Option<f64>,
    /// For relu layers: the fraction of units (features, or channels of an image) that output
    /// 0 for every example of the batch (and every pixel), so that no gradient reaches their
    /// weights.
    pub dead: Option<f64>,
}

impl ActivationStats {
    /// The statistics of `values` (`[batch, ...]`), the output of a layer of `kind`.
    pub fn of<T: Float>(layer: &str, kind: &str, values: ArrayViewD<'_, T>) -> Self {
        let count = values.len().max(1) as f64;
        let mean = values.iter().map(|v| v.as_f64()).sum::<f64>() / count;
        let variance = values.iter().map(|v| (v.as_f64() - mean).powi(2)).sum::<f64>() / count;
        let fraction = |hit: &dyn Fn(f64) -> bool| values.iter().filter(|v| hit(v.as_f64())).count() as f64 / count;
        let saturated = match kind {
            "sigmoid" => Some(fraction(&|y| !(SATURATION_MARGIN..=1.0 - SATURATION_MARGIN).contains(&y))),
            "tanh" => Some(fraction(&|y| y.abs() > 1.0 - SATURATION_MARGIN)),
            _ => None,
        };
        let dead = (kind == "relu" && values.ndim() >= 2).then(|| {
            let units = values.len_of(Axis(1));
            let dead_units =
                (0..units).filter(|&u| values.index_axis(Axis(1), u).iter().all(|v| v.as_f64() == 0.0)).count();
            dead_units as f64 / units.max(1) as f64
        });
        ActivationStats {
            layer: layer.to_string(),
            kind: kind.to_string(),
            mean,
            std: variance.sqrt(),
            saturated,
            dead,
        }
    }
}

impl fmt::Display for ActivationStats {
    /// `act1 relu  mean 0.412  std 0.733  dead 3.1%`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}  mean {:.3}  std {:.3}", self.layer, self.kind, self.mean, self.std)?;
        if let Some(s) = self.saturated {
            write!(f, "  saturated {:.1}%", 100.0 * s)?;
        }
        if let Some(d) = self.dead {
            write!(f, "  dead {:.1}%", 100.0 * d)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use ndarray::{ArrayD, IxDyn, array};

    use super::*;

    #[test]
    fn mean_and_std_are_the_population_ones() {
        let values = array![[1.0_f64, 2.0], [3.0, 6.0]].into_dyn();
        let stats = ActivationStats::of("fc1", "dense", values.view());
        assert_eq!(stats.mean, 3.0);
        // deviations -2, -1, 0, 3: squares 4 + 1 + 0 + 9 = 14, over 4 values.
        assert!((stats.std - 3.5_f64.sqrt()).abs() < 1e-15);
        assert_eq!((stats.saturated, stats.dead), (None, None));
    }

    #[test]
    fn saturation_counts_outputs_near_the_bounds() {
        let sigmoid = array![[0.005_f32, 0.5], [0.995, 0.98]].into_dyn();
        assert_eq!(ActivationStats::of("s", "sigmoid", sigmoid.view()).saturated, Some(0.5));
        let tanh = array![[-0.999_f64, 0.0, 0.5, 0.9999]].into_dyn();
        assert_eq!(ActivationStats::of("t", "tanh", tanh.view()).saturated, Some(0.5));
    }

    #[test]
    fn a_dead_unit_is_zero_for_every_example() {
        // Unit 0 is zero everywhere, unit 1 only for the first example, unit 2 never.
        let relu = array![[0.0_f64, 0.0, 1.0], [0.0, 2.0, 3.0]].into_dyn();
        let stats = ActivationStats::of("a", "relu", relu.view());
        assert_eq!(stats.dead, Some(1.0 / 3.0));
        // Images: a channel is a unit; channel 1 has one live pixel.
        let mut image = ArrayD::<f64>::zeros(IxDyn(&[2, 2, 3, 3]));
        image[[1, 1, 2, 0]] = 0.5;
        assert_eq!(ActivationStats::of("c", "relu", image.view()).dead, Some(0.5));
    }

    #[test]
    fn the_line_shows_what_applies() {
        let relu = array![[0.0_f64, 1.0], [0.0, 3.0]].into_dyn();
        assert_eq!(
            ActivationStats::of("act1", "relu", relu.view()).to_string(),
            "act1 relu  mean 1.000  std 1.225  dead 50.0%"
        );
    }
}
