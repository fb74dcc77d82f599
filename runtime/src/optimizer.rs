//! Optimizer state: the per-parameter tensors an update rule keeps, by PyTorch's names.

use ndarray::{ArrayViewD, IxDyn};

use crate::{Error, Float, ParamSpec, Result};

/// The state tensors of every trainable parameter (`fc1.weight.exp_avg`, ...). A frozen
/// parameter has none.
#[derive(Clone, Debug, PartialEq)]
pub struct OptimizerState<T> {
    names: &'static [&'static str],
    slots: Vec<Vec<Vec<T>>>,
    /// Updates applied to each parameter (PyTorch's per-parameter `step`).
    steps: Vec<u64>,
}

impl<T: Float> OptimizerState<T> {
    /// Zeroed state named `names` for each differentiable parameter of `specs`.
    pub fn new(specs: &'static [ParamSpec], names: &'static [&'static str]) -> Self {
        let slots = specs
            .iter()
            .map(|s| if s.differentiable { Self::zeroed_slots(s.len(), names.len()) } else { Vec::new() })
            .collect();
        OptimizerState { names, slots, steps: vec![0; specs.len()] }
    }

    /// `count` zeroed state tensors of `len` elements, mapped now (every step reads them).
    fn zeroed_slots(len: usize, count: usize) -> Vec<Vec<T>> {
        (0..count).map(|_| crate::resident::zeros(len)).collect()
    }

    /// The state names of the rule (`["exp_avg", "exp_avg_sq"]`).
    pub fn names(&self) -> &'static [&'static str] {
        self.names
    }

    /// Gives parameter `index` zeroed state (`active`) or none: a parameter that is not
    /// trained keeps no optimizer state, as in PyTorch.
    /// Its step count starts again from 0 either way.
    pub fn set_active(&mut self, index: usize, len: usize, active: bool) {
        match (active, self.slots[index].is_empty()) {
            (true, true) => self.slots[index] = Self::zeroed_slots(len, self.names.len()),
            (false, false) => self.slots[index] = Vec::new(),
            _ => {}
        }
        if !active {
            self.steps[index] = 0;
        }
    }

    /// Makes `new_state` parameter `index`'s state, after one more update of it; the old
    /// state goes to `new_state` (to be overwritten by the next update).
    #[inline]
    pub(crate) fn commit_update(&mut self, index: usize, new_state: &mut Vec<Vec<T>>) {
        std::mem::swap(&mut self.slots[index], new_state);
        self.steps[index] += 1;
    }

    /// The updates applied to parameter `index` so far.
    pub fn step(&self, index: usize) -> u64 {
        self.steps[index]
    }

    /// Every parameter's step count, in spec order.
    pub fn steps(&self) -> &[u64] {
        &self.steps
    }

    /// Whether parameter `index` keeps state (it is trained, and the rule has state).
    pub fn is_active(&self, index: usize) -> bool {
        !self.slots[index].is_empty()
    }

    /// The state tensors of parameter `index`, in `names` order.
    #[inline]
    pub fn slots_mut(&mut self, index: usize) -> &mut [Vec<T>] {
        &mut self.slots[index]
    }

    /// The state tensors of parameter `index`.
    pub fn slots(&self, index: usize) -> &[Vec<T>] {
        &self.slots[index]
    }

    /// Every state name in file order: `<param>.<state>`.
    pub fn full_names(&self, specs: &[ParamSpec]) -> Vec<String> {
        specs
            .iter()
            .zip(&self.slots)
            .flat_map(|(spec, slots)| self.names[..slots.len()].iter().map(move |n| format!("{}.{n}", spec.name)))
            .collect()
    }

    /// The state tensor `name` (`fc1.weight.exp_avg`), with its parameter's shape.
    pub fn get(&self, specs: &[ParamSpec], name: &str) -> Result<ArrayViewD<'_, T>> {
        let (index, slot) = self.locate(specs, name)?;
        Ok(ArrayViewD::from_shape(IxDyn(specs[index].shape), &self.slots[index][slot])
            .expect("state has the parameter's shape"))
    }

    fn locate(&self, specs: &[ParamSpec], name: &str) -> Result<(usize, usize)> {
        let unknown = || Error::UnknownName {
            what: "optimizer state",
            name: name.to_string(),
            known: self.full_names(specs).join(", "),
        };
        let (param, state) = name.rsplit_once('.').ok_or_else(unknown)?;
        let index = specs.iter().position(|s| s.name == param).ok_or_else(unknown)?;
        let slot = self
            .names
            .iter()
            .position(|n| *n == state)
            .filter(|_| !self.slots[index].is_empty())
            .ok_or_else(unknown)?;
        Ok((index, slot))
    }

    /// Replaces every state tensor and step count at once (`values` in `full_names` order,
    /// checked by the caller).
    pub(crate) fn replace_all(&mut self, values: Vec<Vec<T>>, steps: Vec<u64>) {
        self.steps = steps;
        let mut values = values.into_iter();
        for slots in &mut self.slots {
            for slot in slots.iter_mut() {
                *slot = values.next().expect("one value per state tensor");
            }
        }
    }
}
