//! The optimizers' update rules, one type per DSL optimizer (DESIGN §2).
//!
//! Generated code builds the rule from its constants and calls
//! `update(param, grad, scale, state, lr, step)` once per trainable parameter: `scale` is the
//! clip factor (1 without `clip_norm`), `state` the parameter's state tensors in the order of
//! [`OptimizerState::names`](crate::OptimizerState::names), `step` its step count from 1.

use crate::Float;

/// Plain SGD: `θ ← θ − η·(s·g)`.
#[derive(Clone, Copy, Debug)]
pub struct Sgd {}

impl Sgd {
    /// Applies one step to `param`.
    #[inline]
    pub fn update<T: Float>(self, param: &mut [T], grad: &[T], scale: T, _state: &mut [Vec<T>], lr: T, _step: u64) {
        assert_eq!(param.len(), grad.len(), "sgd sizes");
        for (p, &g) in param.iter_mut().zip(grad) {
            *p -= lr * (scale * g);
        }
    }
}

/// `b ← βb + g; θ ← θ − ηb`; state `[momentum_buffer]`, as `torch.optim.SGD(momentum = β)`.
#[derive(Clone, Copy, Debug)]
pub struct Momentum<T> {
    /// β.
    pub beta: T,
}

impl<T: Float> Momentum<T> {
    /// Applies one step to `param`.
    #[inline]
    pub fn update(self, param: &mut [T], grad: &[T], scale: T, state: &mut [Vec<T>], lr: T, _step: u64) {
        momentum(param, grad, scale, state, lr, self.beta, false);
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
    /// Applies one step to `param`.
    #[inline]
    pub fn update(self, param: &mut [T], grad: &[T], scale: T, state: &mut [Vec<T>], lr: T, _step: u64) {
        momentum(param, grad, scale, state, lr, self.beta, true);
    }
}

fn momentum<T: Float>(param: &mut [T], grad: &[T], scale: T, state: &mut [Vec<T>], lr: T, beta: T, nesterov: bool) {
    let [buffer] = state else { panic!("momentum keeps one state tensor") };
    for ((p, &g), b) in param.iter_mut().zip(grad).zip(buffer.iter_mut()) {
        let g = scale * g;
        *b = beta * *b + g;
        *p -= lr * if nesterov { g + beta * *b } else { *b };
    }
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
    /// Applies one step to `param`.
    #[inline]
    pub fn update(self, param: &mut [T], grad: &[T], scale: T, state: &mut [Vec<T>], lr: T, _step: u64) {
        let [square_avg] = state else { panic!("rmsprop keeps one state tensor") };
        let RmsProp { beta, eps, eps_inside } = self;
        for ((p, &g), s) in param.iter_mut().zip(grad).zip(square_avg.iter_mut()) {
            let g = scale * g;
            *s = beta * *s + (T::one() - beta) * g * g;
            let denominator = if eps_inside { (*s + eps).sqrt() } else { s.sqrt() + eps };
            *p -= lr * g / denominator;
        }
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
    /// Applies one step to `param`.
    #[inline]
    pub fn update(self, param: &mut [T], grad: &[T], scale: T, state: &mut [Vec<T>], lr: T, step: u64) {
        let weight_decay = T::zero();
        AdamW { beta1: self.beta1, beta2: self.beta2, eps: self.eps, weight_decay }
            .update(param, grad, scale, state, lr, step);
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
    /// Applies one step to `param`.
    #[inline]
    pub fn update(self, param: &mut [T], grad: &[T], scale: T, state: &mut [Vec<T>], lr: T, step: u64) {
        let [exp_avg, exp_avg_sq] = state else { panic!("adam keeps two state tensors") };
        let AdamW { beta1, beta2, eps, weight_decay } = self;
        let t = step.min(i32::MAX as u64) as i32;
        let correction1 = T::one() - beta1.powi(t);
        let correction2 = T::one() - beta2.powi(t);
        // PyTorch's arrangement: θ ← θ − (η/c₁)·m / (√v/√c₂ + ε).
        let step_size = lr / correction1;
        let root2 = correction2.sqrt();
        for (((p, &g), m), v) in param.iter_mut().zip(grad).zip(exp_avg.iter_mut()).zip(exp_avg_sq.iter_mut()) {
            let g = scale * g;
            *p -= lr * weight_decay * *p;
            *m = beta1 * *m + (T::one() - beta1) * g;
            *v = beta2 * *v + (T::one() - beta2) * g * g;
            *p -= step_size * *m / (v.sqrt() / root2 + eps);
        }
    }
}
