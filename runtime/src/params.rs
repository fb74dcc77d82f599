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
    /// The factor on the learning rate for this parameter, as declared (`#[lr_scale = 0.1]`;
    /// 1 by default).
    pub lr_scale: f64,
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
    lr_scales: Vec<f64>,
    /// Per parameter, 1 while its layer trains and 0 once it is frozen at run time (what a
    /// batch norm's compiled training graph reads to pick its statistics).
    training: Vec<T>,
    /// Whether a layer compiled to train batch statistics is frozen at run time.
    freezes_statistics: bool,
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
        let lr_scales = specs.iter().map(|s| s.lr_scale).collect();
        let mut store = Self {
            specs,
            values,
            trainable,
            lr_scales,
            training: vec![T::one(); specs.len()],
            freezes_statistics: false,
        };
        store.refresh_training();
        store
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

    /// Makes `new` parameter `index`'s values; the old values go to `new`.
    #[inline]
    pub(crate) fn swap_value(&mut self, index: usize, new: &mut Vec<T>) {
        debug_assert_eq!(new.len(), self.values[index].len());
        std::mem::swap(&mut self.values[index], new);
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

    /// The factor on the learning rate for parameter `index`.
    #[inline]
    pub fn lr_scale(&self, index: usize) -> f64 {
        self.lr_scales[index]
    }

    /// Every parameter's learning-rate factor, in spec order.
    pub fn lr_scales(&self) -> &[f64] {
        &self.lr_scales
    }

    /// Every parameter's trainable flag, in spec order.
    pub fn trainable_flags(&self) -> &[bool] {
        &self.trainable
    }

    /// Replaces the trainable flags and learning-rate factors at once (checked by the caller).
    pub(crate) fn replace_flags(&mut self, trainable: Vec<bool>, lr_scales: Vec<f64>) {
        self.trainable = trainable;
        self.lr_scales = lr_scales;
        self.refresh_training();
    }

    /// A layer trains while any of its learnable parameters is trainable (a layer without
    /// any, or a `#[frozen]` one, is compiled in its one mode and never reads the flag).
    fn refresh_training(&mut self) {
        // Per layer, in one pass over the specs: (has learnable, any trainable, any differentiable).
        let mut layers: std::collections::HashMap<&str, (bool, bool, bool)> = std::collections::HashMap::new();
        for (spec, &trainable) in self.specs.iter().zip(&self.trainable) {
            let entry = layers.entry(spec.layer).or_default();
            if spec.kind == ParamKind::Learnable {
                entry.0 = true;
                entry.1 |= trainable;
            }
            entry.2 |= spec.differentiable;
        }
        self.freezes_statistics = false;
        for (i, spec) in self.specs.iter().enumerate() {
            let (learnable, trainable, differentiable) = layers[spec.layer];
            let training = !learnable || trainable;
            self.training[i] = if training { T::one() } else { T::zero() };
            self.freezes_statistics |= spec.kind == ParamKind::Buffer && !training && differentiable;
        }
    }

    /// Whether a batch norm that the network trains is frozen at run time, so a step must
    /// run the graph that lets it use its running statistics.
    #[inline]
    pub fn freezes_statistics(&self) -> bool {
        self.freezes_statistics
    }

    /// The training flag of parameter `index`'s layer as a one-element slice: 1 while the
    /// layer trains, 0 once `set_trainable(layer, false)` froze it.
    #[inline]
    pub fn training_flag(&self, index: usize) -> &[T] {
        std::slice::from_ref(&self.training[index])
    }

    /// Whether parameter `index`'s layer trains (a frozen batch norm keeps its running
    /// statistics).
    #[inline]
    pub fn is_training(&self, index: usize) -> bool {
        self.training[index] == T::one()
    }

    /// The learnable parameters of `layer`, or an error naming the layers that have some.
    fn learnable_of(&self, layer: &str) -> Result<Vec<usize>> {
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
        Ok(indices)
    }

    /// Sets the learning-rate factor of every learnable parameter of `layer`; it must be
    /// finite and non-negative.
    pub fn set_layer_lr_scale(&mut self, layer: &str, scale: f64) -> Result<()> {
        if !scale.is_finite() || scale < 0.0 {
            return Err(Error::InvalidValue {
                what: "learning-rate scale",
                value: scale,
                why: "must be finite and non-negative",
            });
        }
        for i in self.learnable_of(layer)? {
            self.lr_scales[i] = scale;
        }
        Ok(())
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
        let indices = self.learnable_of(layer)?;
        if trainable && indices.iter().any(|&i| !self.specs[i].differentiable) {
            return Err(Error::FrozenLayer { layer: layer.to_string() });
        }
        for i in indices {
            self.trainable[i] = trainable;
        }
        self.refresh_training();
        Ok(())
    }
}
