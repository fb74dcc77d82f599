//! The optimizers' update rules, one type per DSL optimizer (DESIGN §2).
//!
//! Generated code builds the rule from its constants and calls
//! `update(staged, grad, scale, lr)` once per trainable parameter: `staged` holds the
//! parameter's current values and state tensors (in the order of
//! [`OptimizerState::names`](crate::OptimizerState::names)) and the buffers the new ones go
//! to, `scale` is the clip factor (1 without `clip_norm`). Every rule returns whether all it
//! wrote is finite; the step commits the new buffers only if every update says so.
//!
//! Every rule is element-wise, so a large parameter's elements are split across the thread
//! pool ([`split_range`]) with the same result for any thread count.

use crate::split::{Disjoint, split_range};
use crate::{Float, Staged};

/// Plain SGD: `θ ← θ − η·(s·g)`.
#[derive(Clone, Copy, Debug)]
pub struct Sgd {}

impl Sgd {
    /// Applies one step to `staged`; whether the new values are finite.
    #[inline]
    pub fn update<T: Float>(self, staged: Staged<'_, T>, grad: &[T], scale: T, lr: T) -> bool {
        let Staged { old, new, .. } = staged;
        assert!(old.len() == grad.len() && new.len() == grad.len(), "sgd sizes");
        let new = Disjoint::new(new);
        split_range(grad.len(), &|r| {
            // SAFETY: each part of the split takes its own range.
            let new = unsafe { new.part(r.clone()) };
            crate::simd::wide(|| {
                let mut finite = true;
                for ((n, &p), &g) in new.iter_mut().zip(&old[r.clone()]).zip(&grad[r]) {
                    *n = p - lr * (scale * g);
                    finite &= n.is_finite();
                }
                finite
            })
        })
    }
}

/// `b ← βb + g; θ ← θ − ηb`; state `[momentum_buffer]`, as `torch.optim.SGD(momentum = β)`.
#[derive(Clone, Copy, Debug)]
pub struct Momentum<T> {
    /// β.
    pub beta: T,
}

impl<T: Float> Momentum<T> {
    /// Applies one step to `staged`; whether the new values are finite.
    #[inline]
    pub fn update(self, staged: Staged<'_, T>, grad: &[T], scale: T, lr: T) -> bool {
        momentum(staged, grad, scale, lr, self.beta, false)
    }
}

/// `b ← βb + g; θ ← θ − η(g + βb)` with the new b; state `[momentum_buffer]`, as
/// `torch.optim.SGD(momentum = β, nesterov = True)`.
#[derive(Clone, Copy, Debug)]
pub struct Nesterov<T> {
    /// β.
    pub beta: T,
}

impl<T: Float> Nesterov<T> {
    /// Applies one step to `staged`; whether the new values are finite.
    #[inline]
    pub fn update(self, staged: Staged<'_, T>, grad: &[T], scale: T, lr: T) -> bool {
        momentum(staged, grad, scale, lr, self.beta, true)
    }
}

fn momentum<T: Float>(staged: Staged<'_, T>, grad: &[T], scale: T, lr: T, beta: T, nesterov: bool) -> bool {
    let Staged { old, new, state: [buffer], new_state: [new_buffer], .. } = staged else {
        panic!("momentum keeps one state tensor")
    };
    assert!(old.len() == grad.len() && new.len() == grad.len() && buffer.len() == grad.len(), "momentum sizes");
    let (new, new_buffer) = (Disjoint::new(new), Disjoint::new(new_buffer));
    split_range(grad.len(), &|r| {
        // SAFETY: each part of the split takes its own range.
        let (new, new_buffer) = unsafe { (new.part(r.clone()), new_buffer.part(r.clone())) };
        let (old, grad, buffer) = (&old[r.clone()], &grad[r.clone()], &buffer[r]);
        crate::simd::wide(|| {
            let mut finite = true;
            for (((n, &p), &g), (nb, &b)) in new.iter_mut().zip(old).zip(grad).zip(new_buffer.iter_mut().zip(buffer)) {
                let g = scale * g;
                *nb = beta * b + g;
                *n = p - lr * if nesterov { g + beta * *nb } else { *nb };
                finite &= n.is_finite() & nb.is_finite();
            }
            finite
        })
    })
}

/// `s ← βs + (1−β)g²; θ ← θ − ηg/√(s+ε)`, or `ηg/(√s+ε)` when not `eps_inside` (which with
/// β = 0.99 is `torch.optim.RMSprop`); state `[square_avg]`.
#[derive(Clone, Copy, Debug)]
pub struct RmsProp<T> {
    /// β.
    pub beta: T,
    /// ε.
    pub eps: T,
    /// ε under the square root.
    pub eps_inside: bool,
}

impl<T: Float> RmsProp<T> {
    /// Applies one step to `staged`; whether the new values are finite.
    #[inline]
    pub fn update(self, staged: Staged<'_, T>, grad: &[T], scale: T, lr: T) -> bool {
        let Staged { old, new, state: [square_avg], new_state: [new_square_avg], .. } = staged else {
            panic!("rmsprop keeps one state tensor")
        };
        let RmsProp { beta, eps, eps_inside } = self;
        assert!(old.len() == grad.len() && new.len() == grad.len() && square_avg.len() == grad.len(), "rmsprop sizes");
        let (new, new_square_avg) = (Disjoint::new(new), Disjoint::new(new_square_avg));
        split_range(grad.len(), &|r| {
            // SAFETY: each part of the split takes its own range.
            let (new, new_square_avg) = unsafe { (new.part(r.clone()), new_square_avg.part(r.clone())) };
            let (old, grad, square_avg) = (&old[r.clone()], &grad[r.clone()], &square_avg[r]);
            crate::simd::wide(|| {
                let mut finite = true;
                for (((n, &p), &g), (ns, &s)) in
                    new.iter_mut().zip(old).zip(grad).zip(new_square_avg.iter_mut().zip(square_avg))
                {
                    let g = scale * g;
                    *ns = beta * s + (T::one() - beta) * g * g;
                    let denominator = if eps_inside { (*ns + eps).sqrt() } else { ns.sqrt() + eps };
                    *n = p - lr * g / denominator;
                    finite &= n.is_finite() & ns.is_finite();
                }
                finite
            })
        })
    }
}

/// Adam with bias correction: `m ← β₁m + (1−β₁)g`, `v ← β₂v + (1−β₂)g²`,
/// `θ ← θ − η m̂/(√v̂ + ε)`; state `[exp_avg, exp_avg_sq]`, as `torch.optim.Adam`.
#[derive(Clone, Copy, Debug)]
pub struct Adam<T> {
    /// β₁.
    pub beta1: T,
    /// β₂.
    pub beta2: T,
    /// ε.
    pub eps: T,
}

impl<T: Float> Adam<T> {
    /// Applies one step to `staged`; whether the new values are finite.
    #[inline]
    pub fn update(self, staged: Staged<'_, T>, grad: &[T], scale: T, lr: T) -> bool {
        let weight_decay = T::zero();
        AdamW { beta1: self.beta1, beta2: self.beta2, eps: self.eps, weight_decay }.update(staged, grad, scale, lr)
    }
}

/// Adam with decoupled weight decay, `θ ← θ − ηλθ` before the Adam step; as
/// `torch.optim.AdamW`.
#[derive(Clone, Copy, Debug)]
pub struct AdamW<T> {
    /// β₁.
    pub beta1: T,
    /// β₂.
    pub beta2: T,
    /// ε.
    pub eps: T,
    /// λ.
    pub weight_decay: T,
}

impl<T: Float> AdamW<T> {
    /// Applies one step to `staged`; whether the new values are finite.
    #[inline]
    pub fn update(self, staged: Staged<'_, T>, grad: &[T], scale: T, lr: T) -> bool {
        let Staged { old, new, state: [exp_avg, exp_avg_sq], new_state: [new_exp_avg, new_exp_avg_sq], step } = staged
        else {
            panic!("adam keeps two state tensors")
        };
        let AdamW { beta1, beta2, eps, weight_decay } = self;
        let t = step.min(i32::MAX as u64) as i32;
        let correction1 = T::one() - beta1.powi(t);
        let correction2 = T::one() - beta2.powi(t);
        // PyTorch's arrangement: θ ← θ − (η/c₁)·m / (√v/√c₂ + ε).
        let step_size = lr / correction1;
        let root2 = correction2.sqrt();
        let len = grad.len();
        assert!(old.len() == len && new.len() == len && exp_avg.len() == len && exp_avg_sq.len() == len, "adam sizes");
        let (new, new_exp_avg, new_exp_avg_sq) =
            (Disjoint::new(new), Disjoint::new(new_exp_avg), Disjoint::new(new_exp_avg_sq));
        split_range(len, &|r| {
            // SAFETY: each part of the split takes its own range.
            let (new, new_exp_avg, new_exp_avg_sq) =
                unsafe { (new.part(r.clone()), new_exp_avg.part(r.clone()), new_exp_avg_sq.part(r.clone())) };
            let (old, grad, exp_avg, exp_avg_sq) =
                (&old[r.clone()], &grad[r.clone()], &exp_avg[r.clone()], &exp_avg_sq[r]);
            crate::simd::wide(|| {
                let mut finite = true;
                let moments = new_exp_avg.iter_mut().zip(exp_avg).zip(new_exp_avg_sq.iter_mut().zip(exp_avg_sq));
                for (((n, &p), &g), ((nm, &m), (nv, &v))) in new.iter_mut().zip(old).zip(grad).zip(moments) {
                    let g = scale * g;
                    let p = p - lr * weight_decay * p;
                    *nm = beta1 * m + (T::one() - beta1) * g;
                    *nv = beta2 * v + (T::one() - beta2) * g * g;
                    *n = p - step_size * *nm / (nv.sqrt() / root2 + eps);
                    finite &= n.is_finite() & nm.is_finite() & nv.is_finite();
                }
                finite
            })
        })
    }
}
