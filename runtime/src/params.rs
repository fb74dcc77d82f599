//! Parameter storage shared by every generated network: values by weights-file name.

use ndarray::{ArrayViewD, IxDyn};

use crate::{Error, Float, Init, Result};

/// What a parameter tensor is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamKind {
    /// Learned by the optimizer.
    Learnable,
    /// Running statistics updated in training (batch norm).
    Buffer,
    /// An integer count, stored as a float and written to files as a 64-bit integer
    /// (batch norm's `num_batches_tracked`; exact below 2^24 in f32).
    Counter,
}

/// What the compiler knows about one parameter tensor; generated code holds a `static` table.
#[derive(Clone, Copy, Debug)]
pub struct ParamSpec {
    /// Weights-file name, as in PyTorch's `state_dict` (`fc1.weight`).
    pub name: &'static str,
    /// The layer that owns it (`fc1`).
    pub layer: &'static str,
    /// Row-major shape (`[units, in]` for a dense weight).
    pub shape: &'static [usize],
    /// How it starts.
    pub init: Init,
    /// Whether a gradient is compiled for it (learnable and not `#[frozen]`).
    pub differentiable: bool,
    /// Learnable, buffer or counter.
    pub kind: ParamKind,
}

impl ParamSpec {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The values of a network's parameters, in the order of its spec table.
#[derive(Clone, Debug)]
pub struct ParamStore<T> {
    specs: &'static [ParamSpec],
    values: Vec<Vec<T>>,
    trainable: Vec<bool>,
}

impl<T: Float> ParamStore<T> {
    /// Initializes every parameter from `seed` (see [`crate::init::param_rng`]).
    pub fn new(specs: &'static [ParamSpec], seed: u64) -> Self {
        let values = specs
            .iter()
            .enumerate()
            .map(|(i, spec)| spec.init.sample(spec.shape, &mut crate::init::param_rng(seed, i)))
            .collect();
        let trainable = specs.iter().map(|s| s.differentiable).collect();
        Self { specs, values, trainable }
    }

    /// The spec table.
    pub fn specs(&self) -> &'static [ParamSpec] {
        self.specs
    }

    /// Parameter `index` as a flat slice.
    #[inline]
    pub fn value(&self, index: usize) -> &[T] {
        &self.values[index]
    }

    /// Parameter `index` as a flat mutable slice.
    #[inline]
    pub fn value_mut(&mut self, index: usize) -> &mut [T] {
        &mut self.values[index]
    }

    /// All values, in spec order.
    pub fn values(&self) -> &[Vec<T>] {
        &self.values
    }

    /// Replaces all values at once; `values` must match the specs (checked by the caller).
    pub(crate) fn replace_all(&mut self, values: Vec<Vec<T>>) {
        debug_assert!(values.iter().zip(self.specs).all(|(v, s)| v.len() == s.len()));
        self.values = values;
    }

    /// Whether parameter `index` is updated by `train_step`.
    #[inline]
    pub fn is_trainable(&self, index: usize) -> bool {
        self.trainable[index]
    }

    /// The index of the parameter called `name`.
    pub fn index_of(&self, name: &str) -> Result<usize> {
        self.specs.iter().position(|s| s.name == name).ok_or_else(|| Error::UnknownName {
            what: "parameter",
            name: name.to_string(),
            known: self.specs.iter().map(|s| s.name).collect::<Vec<_>>().join(", "),
        })
    }

    /// A view of the parameter called `name`, with its shape.
    pub fn get(&self, name: &str) -> Result<ArrayViewD<'_, T>> {
        let i = self.index_of(name)?;
        Ok(ArrayViewD::from_shape(IxDyn(self.specs[i].shape), &self.values[i]).expect("length matches spec"))
    }

    /// Overwrites the parameter called `name`; the shape must match and values be finite.
    pub fn set(&mut self, name: &str, value: ArrayViewD<'_, T>) -> Result<()> {
        let i = self.index_of(name)?;
        let spec = &self.specs[i];
        if value.shape() != spec.shape {
            return Err(Error::ShapeMismatch {
                name: name.to_string(),
                expected: spec.shape.to_vec(),
                found: value.shape().to_vec(),
            });
        }
        if let Some(bad) = value.iter().find(|v| !v.is_finite()) {
            return Err(Error::InvalidValue { what: "parameter value", value: bad.as_f64(), why: "must be finite" });
        }
        self.values[i] = value.iter().copied().collect();
        Ok(())
    }

    /// Turns optimizer updates of every learnable parameter of `layer` on or off.
    pub fn set_layer_trainable(&mut self, layer: &str, trainable: bool) -> Result<()> {
        let indices: Vec<usize> = (0..self.specs.len())
            .filter(|&i| self.specs[i].layer == layer && self.specs[i].kind == ParamKind::Learnable)
            .collect();
        if indices.is_empty() {
            let mut known: Vec<&str> = self.specs.iter().map(|s| s.layer).collect();
            known.dedup();
            return Err(Error::UnknownName {
                what: "layer with parameters",
                name: layer.to_string(),
                known: known.join(", "),
            });
        }
        if trainable && indices.iter().any(|&i| !self.specs[i].differentiable) {
            return Err(Error::FrozenLayer { layer: layer.to_string() });
        }
        for i in indices {
            self.trainable[i] = trainable;
        }
        Ok(())
    }
}
