//! Where a step's updates write before they are known to be finite.
//!
//! An update that overflows (a huge learning rate, a gradient beyond the float type) must not
//! leave a single parameter changed. Rather than check in an extra pass, every update kernel
//! writes its results into a second buffer of the parameter (and of its optimizer state) and
//! reports whether everything it wrote is finite. When all updates succeed the new buffers are
//! swapped in, O(1) per parameter; when one fails they are dropped and nothing changed.
//!
//! The second buffers are allocated with the network and reused, so no step allocates.

use crate::{Float, OptimizerState, ParamKind, ParamStore};

/// One parameter's update in progress: the current values (read) and the buffers the new
/// values go to (written), for the parameter and each of its optimizer state tensors.
#[derive(Debug)]
pub struct Staged<'a, T> {
    /// The parameter's current values.
    pub old: &'a [T],
    /// Receives the parameter's new values.
    pub new: &'a mut [T],
    /// The current optimizer state tensors, in [`OptimizerState::names`] order (none for a
    /// running statistic or a stateless rule).
    pub state: &'a [Vec<T>],
    /// Receive the new state tensors.
    pub new_state: &'a mut [Vec<T>],
    /// The parameter's step count including this update (1 at its first update).
    pub step: u64,
}

/// What kind of value a staged parameter is: its commit differs.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    /// An optimizer update: the state tensors are swapped too, and the step count advances.
    Optimized,
    /// A running statistic or counter: the values only.
    Statistic,
}

/// The second buffers of a network's parameters and optimizer state, and which of them the
/// current step has written.
#[derive(Clone, Debug, Default)]
pub struct UpdateStaging<T> {
    params: Vec<Vec<T>>,
    state: Vec<Vec<Vec<T>>>,
    staged: Vec<(usize, Kind)>,
}

impl<T: Float> UpdateStaging<T> {
    /// The second buffers of every parameter a step updates (a trained parameter and its
    /// optimizer state, a running statistic), allocated and mapped now so that the first step
    /// pays no more than any other. A parameter turned trainable later gets its buffers at its
    /// first update.
    pub fn new(params: &ParamStore<T>, optimizer: &OptimizerState<T>) -> Self {
        let count = params.specs().len();
        let updated = |i: usize| params.is_trainable(i) || params.specs()[i].kind != ParamKind::Learnable;
        let buffer = |i: usize, len: usize| if updated(i) { crate::resident::zeros(len) } else { Vec::new() };
        UpdateStaging {
            params: (0..count).map(|i| buffer(i, params.value(i).len())).collect(),
            state: (0..count).map(|i| optimizer.slots(i).iter().map(|s| buffer(i, s.len())).collect()).collect(),
            staged: Vec::with_capacity(count),
        }
    }

    /// Starts the optimizer update of parameter `index`.
    #[inline]
    fn optimized<'a>(
        &'a mut self,
        params: &'a ParamStore<T>,
        optimizer: &'a OptimizerState<T>,
        index: usize,
    ) -> Staged<'a, T> {
        let old = params.value(index);
        let state = optimizer.slots(index);
        let new_state = &mut self.state[index];
        if new_state.len() != state.len() || new_state.iter().zip(state).any(|(n, s)| n.len() != s.len()) {
            *new_state = state.iter().map(|s| crate::resident::zeros(s.len())).collect();
        }
        self.staged.push((index, Kind::Optimized));
        let new = sized(&mut self.params[index], old.len());
        Staged { old, new, state, new_state, step: optimizer.step(index) + 1 }
    }

    /// Starts the update of running statistic (or counter) `index`.
    #[inline]
    fn statistic<'a>(&'a mut self, params: &'a ParamStore<T>, index: usize) -> Staged<'a, T> {
        let old = params.value(index);
        self.staged.push((index, Kind::Statistic));
        let new = sized(&mut self.params[index], old.len());
        Staged { old, new, state: &[], new_state: &mut [], step: 0 }
    }

    /// The optimizer update of parameter `index`, if it is trainable: runs `update` on its
    /// staged buffers with its learning rate (`lr` times its layer's scale, computed in f64 as
    /// PyTorch's parameter groups do); `Err(index)` if what it wrote is not all finite.
    #[inline]
    pub fn update_parameter(
        &mut self,
        params: &ParamStore<T>,
        optimizer: &OptimizerState<T>,
        index: usize,
        lr: f64,
        update: impl FnOnce(Staged<'_, T>, T) -> bool,
    ) -> Result<(), usize> {
        if !params.is_trainable(index) {
            return Ok(());
        }
        let lr = T::from_f64(lr * params.lr_scale(index));
        if update(self.optimized(params, optimizer, index), lr) { Ok(()) } else { Err(index) }
    }

    /// The update of running statistic (or counter) `index`, unless its layer is frozen at run
    /// time (it then keeps its statistics): runs `update` on its staged buffer; `Err(index)` if
    /// what it wrote is not all finite.
    #[inline]
    pub fn update_statistic(
        &mut self,
        params: &ParamStore<T>,
        index: usize,
        update: impl FnOnce(Staged<'_, T>) -> bool,
    ) -> Result<(), usize> {
        if !params.is_training(index) {
            return Ok(());
        }
        if update(self.statistic(params, index)) { Ok(()) } else { Err(index) }
    }

    /// Makes every staged update current: swaps the new buffers in and advances the step
    /// counts of the optimized parameters.
    pub fn commit(&mut self, params: &mut ParamStore<T>, optimizer: &mut OptimizerState<T>) {
        for (index, kind) in self.staged.drain(..) {
            params.swap_value(index, &mut self.params[index]);
            if kind == Kind::Optimized {
                optimizer.commit_update(index, &mut self.state[index]);
            }
        }
    }

    /// Drops every staged update: the parameters and optimizer state stay as they were.
    pub fn discard(&mut self) {
        self.staged.clear();
    }
}

/// `buffer` with exactly `len` elements, allocating only when its length differs.
fn sized<T: Float>(buffer: &mut Vec<T>, len: usize) -> &mut [T] {
    if buffer.len() != len {
        *buffer = crate::resident::zeros(len);
    }
    buffer
}
