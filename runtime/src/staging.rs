//! Where a step's updates write before they are known to be finite.
//!
//! An update that overflows (a huge learning rate, a gradient beyond the float type) must not
//! leave a single parameter changed. Rather than check in an extra pass, every update kernel
//! writes its results into a second buffer of the parameter (and of its optimizer state) and
//! reports whether everything it wrote is finite. When all updates succeed the new buffers are
//! swapped in, O(1) per parameter; when one fails they are dropped and nothing changed.
//!
//! The second buffers are allocated at a parameter's first update and reused, so a warm step
//! allocates nothing.

use crate::{Float, OptimizerState, ParamStore};

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
    /// Empty buffers for `count` parameters; each is allocated at its first update.
    pub fn new(count: usize) -> Self {
        UpdateStaging {
            params: vec![Vec::new(); count],
            state: vec![Vec::new(); count],
            staged: Vec::with_capacity(count),
        }
    }

    /// Starts the optimizer update of parameter `index`.
    #[inline]
    pub fn optimized<'a>(
        &'a mut self,
        params: &'a ParamStore<T>,
        optimizer: &'a OptimizerState<T>,
        index: usize,
    ) -> Staged<'a, T> {
        let old = params.value(index);
        let state = optimizer.slots(index);
        let new_state = &mut self.state[index];
        if new_state.len() != state.len() || new_state.iter().zip(state).any(|(n, s)| n.len() != s.len()) {
            *new_state = state.iter().map(|s| vec![T::zero(); s.len()]).collect();
        }
        self.staged.push((index, Kind::Optimized));
        let new = sized(&mut self.params[index], old.len());
        Staged { old, new, state, new_state, step: optimizer.step(index) + 1 }
    }

    /// Starts the update of running statistic (or counter) `index`.
    #[inline]
    pub fn statistic<'a>(&'a mut self, params: &'a ParamStore<T>, index: usize) -> Staged<'a, T> {
        let old = params.value(index);
        self.staged.push((index, Kind::Statistic));
        let new = sized(&mut self.params[index], old.len());
        Staged { old, new, state: &[], new_state: &mut [], step: 0 }
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
        *buffer = vec![T::zero(); len];
    }
    buffer
}
