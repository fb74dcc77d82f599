//! The optimizers' update rules, one type per DSL optimizer (DESIGN §2).
//!
//! Generated code builds the rule from its constants and calls
//! `update(staged, grad, scale, lr)` once per trainable parameter: `staged` holds the
//! parameter's current values and state tensors (in the order of
//! [`OptimizerState::names`](crate::OptimizerState::names)) and the buffers the new ones go
//! to, `scale` is the clip factor (1 without `clip_norm`). Every rule returns whether all it
//! wrote is finite; the step commits the new buffers only if every update says so.
//!
//! Every rule is element-wise: each is written as the step of one element ([`ElementStep`]),
//! and one loop ([`apply`]) runs it over a parameter, split across the thread pool
//! ([`split_range`]) with the same result for any thread count, and compiled for the widest
//! vectors the CPU has ([`crate::simd::widest`]).

use crate::split::{Disjoint, split_range};
use crate::{Float, Staged};

/// Plain SGD: `θ ← θ − η·(s·g)`.
#[derive(Clone, Copy, Debug)]
pub struct Sgd {}

impl Sgd {
    /// Applies one step to `staged`; whether the new values are finite.
    #[inline]
    pub fn update<T: Float>(self, staged: Staged<'_, T>, grad: &[T], scale: T, lr: T) -> bool {
        apply(staged, grad, SgdStep { scale, lr })
    }
}

#[derive(Clone, Copy)]
struct SgdStep<T> {
    scale: T,
    lr: T,
}

impl<T: Float> ElementStep<T, 0> for SgdStep<T> {
    #[inline(always)]
    fn step(self, p: T, g: T, []: [T; 0]) -> (T, [T; 0]) {
        (p - self.lr * (self.scale * g), [])
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
        apply(staged, grad, MomentumStep { scale, lr, beta: self.beta, nesterov: false })
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
        apply(staged, grad, MomentumStep { scale, lr, beta: self.beta, nesterov: true })
    }
}

#[derive(Clone, Copy)]
struct MomentumStep<T> {
    scale: T,
    lr: T,
    beta: T,
    nesterov: bool,
}

impl<T: Float> ElementStep<T, 1> for MomentumStep<T> {
    #[inline(always)]
    fn step(self, p: T, g: T, [buffer]: [T; 1]) -> (T, [T; 1]) {
        let MomentumStep { scale, lr, beta, nesterov } = self;
        let g = scale * g;
        let b = beta * buffer + g;
        (p - lr * if nesterov { g + beta * b } else { b }, [b])
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
    /// Applies one step to `staged`; whether the new values are finite.
    #[inline]
    pub fn update(self, staged: Staged<'_, T>, grad: &[T], scale: T, lr: T) -> bool {
        apply(staged, grad, RmsPropStep { scale, lr, rule: self })
    }
}

#[derive(Clone, Copy)]
struct RmsPropStep<T> {
    scale: T,
    lr: T,
    rule: RmsProp<T>,
}

impl<T: Float> ElementStep<T, 1> for RmsPropStep<T> {
    #[inline(always)]
    fn step(self, p: T, g: T, [square_avg]: [T; 1]) -> (T, [T; 1]) {
        let RmsPropStep { scale, lr, rule: RmsProp { beta, eps, eps_inside } } = self;
        let g = scale * g;
        let s = beta * square_avg + (T::one() - beta) * g * g;
        let denominator = if eps_inside { (s + eps).sqrt() } else { s.sqrt() + eps };
        (p - lr * g / denominator, [s])
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
        let t = staged.step.min(i32::MAX as u64) as i32;
        // PyTorch's arrangement: θ ← θ − (η/c₁)·m / (√v/√c₂ + ε).
        let step_size = lr / (T::one() - self.beta1.powi(t));
        let root2 = (T::one() - self.beta2.powi(t)).sqrt();
        apply(staged, grad, AdamStep { scale, lr, step_size, root2, rule: self })
    }
}

#[derive(Clone, Copy)]
struct AdamStep<T> {
    scale: T,
    lr: T,
    /// η / c₁.
    step_size: T,
    /// √c₂.
    root2: T,
    rule: AdamW<T>,
}

impl<T: Float> ElementStep<T, 2> for AdamStep<T> {
    #[inline(always)]
    fn step(self, p: T, g: T, [exp_avg, exp_avg_sq]: [T; 2]) -> (T, [T; 2]) {
        let AdamStep { scale, lr, step_size, root2, rule: AdamW { beta1, beta2, eps, weight_decay } } = self;
        let g = scale * g;
        let p = p - lr * weight_decay * p;
        let m = beta1 * exp_avg + (T::one() - beta1) * g;
        let v = beta2 * exp_avg_sq + (T::one() - beta2) * g * g;
        (p - step_size * m / (v.sqrt() / root2 + eps), [m, v])
    }
}

/// An update rule's arithmetic for one element: its parameter value, gradient and `S` state
/// values in, the new ones out. `step` is marked `#[inline(always)]` by every rule, so that
/// it is compiled inside the vector loop of [`apply`].
trait ElementStep<T, const S: usize>: Copy + Sync {
    fn step(self, p: T, g: T, state: [T; S]) -> (T, [T; S]);
}

/// Runs `rule` over every element of `staged`: its ranges across the threads, each as one
/// loop compiled for the widest vectors. Whether everything written is finite.
fn apply<T: Float, R: ElementStep<T, S>, const S: usize>(staged: Staged<'_, T>, grad: &[T], rule: R) -> bool {
    let Staged { old, new, state, new_state, .. } = staged;
    let len = grad.len();
    assert!(state.len() == S && new_state.len() == S, "the rule keeps {S} state tensors");
    let sized = |v: &[T]| v.len() == len;
    assert!(sized(old) && sized(new) && state.iter().all(|s| sized(s)) && new_state.iter().all(|s| sized(s)), "sizes");
    let new = Disjoint::new(new);
    let mut new_states = new_state.iter_mut();
    let new_state: [Disjoint<'_, T>; S] = std::array::from_fn(|_| Disjoint::new(new_states.next().expect("S states")));
    split_range(len, &|r| {
        // SAFETY: each part of the split takes its own range.
        let (new, new_state) = unsafe { (new.part(r.clone()), new_state.each_ref().map(|s| s.part(r.clone()))) };
        let state = std::array::from_fn(|k| &state[k][r.clone()]);
        crate::simd::widest(ElementLoop { old: &old[r.clone()], grad: &grad[r], state, new, new_state, rule })
    })
}

/// One thread's range of an update, for [`crate::simd::widest`].
struct ElementLoop<'a, T, R, const S: usize> {
    old: &'a [T],
    grad: &'a [T],
    state: [&'a [T]; S],
    new: &'a mut [T],
    new_state: [&'a mut [T]; S],
    rule: R,
}

impl<T: Float, R: ElementStep<T, S>, const S: usize> crate::simd::WideLoop for ElementLoop<'_, T, R, S> {
    /// Whether everything written is finite.
    type Output = bool;

    #[inline(always)]
    fn run(self) -> bool {
        let ElementLoop { old, grad, state, new, new_state, rule } = self;
        // Every slice cut to the same length: the loop's indexing needs no bounds checks.
        let len = grad.len();
        let (old, new) = (&old[..len], &mut new[..len]);
        let state = state.map(|s| &s[..len]);
        let new_state = new_state.map(|s| &mut s[..len]);
        // OR-ing `not_finite_bits` keeps the check in integer lanes, which vectorize freely.
        let mut not_finite = 0;
        for i in 0..len {
            let (p, s) = rule.step(old[i], grad[i], std::array::from_fn(|k| state[k][i]));
            new[i] = p;
            not_finite |= p.not_finite_bits();
            for k in 0..S {
                new_state[k][i] = s[k];
                not_finite |= s[k].not_finite_bits();
            }
        }
        not_finite == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lengths that cover a vector body, its unrolled copies and every remainder.
    const LENGTHS: [usize; 6] = [1, 7, 16, 33, 100, 1031];

    /// Deterministic values of both signs in [−1, 1).
    fn values<T: Float>(len: usize, seed: u64) -> Vec<T> {
        let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                T::from_f64((state >> 11) as f64 / (1u64 << 52) as f64 - 1.0)
            })
            .collect()
    }

    /// Runs `rule` on fresh buffers; the new parameter, the new state and whether it was finite.
    fn step<T: Float>(
        grad: &[T],
        states: usize,
        rule: impl FnOnce(Staged<'_, T>, &[T]) -> bool,
    ) -> (Vec<T>, Vec<Vec<T>>, bool) {
        let len = grad.len();
        let old = values::<T>(len, 1);
        // Second moments must not be negative.
        let state: Vec<Vec<T>> =
            (0..states).map(|s| values::<T>(len, 2 + s as u64).iter().map(|v| v.abs()).collect()).collect();
        let mut new = vec![T::zero(); len];
        let mut new_state = vec![vec![T::zero(); len]; states];
        let finite = rule(Staged { old: &old, new: &mut new, state: &state, new_state: &mut new_state, step: 3 }, grad);
        (new, new_state, finite)
    }

    /// Each rule written element by element as PyTorch states it, for comparison.
    fn expected<T: Float>(name: &str, p: T, g: T, s: &[T]) -> (T, Vec<T>) {
        let (lr, scale, beta) = (T::from_f64(0.01), T::from_f64(0.5), T::from_f64(0.9));
        let g = scale * g;
        match name {
            "sgd" => (p - lr * g, vec![]),
            "momentum" | "nesterov" => {
                let b = beta * s[0] + g;
                (p - lr * if name == "nesterov" { g + beta * b } else { b }, vec![b])
            }
            "rmsprop" => {
                let eps = T::from_f64(1e-8);
                let v = beta * s[0] + (T::one() - beta) * g * g;
                (p - lr * g / (v.sqrt() + eps), vec![v])
            }
            _ => {
                let (beta2, eps, decay) = (T::from_f64(0.999), T::from_f64(1e-8), T::from_f64(0.1));
                let (c1, c2) = (T::one() - beta.powi(3), T::one() - beta2.powi(3));
                let p = p - lr * decay * p;
                let m = beta * s[0] + (T::one() - beta) * g;
                let v = beta2 * s[1] + (T::one() - beta2) * g * g;
                (p - (lr / c1) * m / (v.sqrt() / c2.sqrt() + eps), vec![m, v])
            }
        }
    }

    /// Runs rule `name` with the constants `expected` uses.
    fn run<T: Float>(name: &str, grad: &[T]) -> (Vec<T>, Vec<Vec<T>>, bool) {
        let (lr, scale, beta) = (T::from_f64(0.01), T::from_f64(0.5), T::from_f64(0.9));
        let eps = T::from_f64(1e-8);
        match name {
            "sgd" => step(grad, 0, |s, g| Sgd {}.update(s, g, scale, lr)),
            "momentum" => step(grad, 1, |s, g| Momentum { beta }.update(s, g, scale, lr)),
            "nesterov" => step(grad, 1, |s, g| Nesterov { beta }.update(s, g, scale, lr)),
            "rmsprop" => step(grad, 1, |s, g| RmsProp { beta, eps, eps_inside: false }.update(s, g, scale, lr)),
            _ => {
                let rule = AdamW { beta1: beta, beta2: T::from_f64(0.999), eps, weight_decay: T::from_f64(0.1) };
                step(grad, 2, |s, g| rule.update(s, g, scale, lr))
            }
        }
    }

    const RULES: [&str; 5] = ["sgd", "momentum", "nesterov", "rmsprop", "adamw"];

    fn rules_match_their_element_wise_formulas<T: Float>() {
        for name in RULES {
            for len in LENGTHS {
                let grad = values::<T>(len, 9);
                let (new, new_state, finite) = run(name, &grad);
                assert!(finite, "{name}, {len}");
                let old = values::<T>(len, 1);
                for i in 0..len {
                    let state: Vec<T> = (0..new_state.len()).map(|s| values::<T>(len, 2 + s as u64)[i].abs()).collect();
                    let (p, s) = expected(name, old[i], grad[i], &state);
                    assert_eq!(new[i].to_f64().map(f64::to_bits), p.to_f64().map(f64::to_bits), "{name}, {len}, {i}");
                    for (k, s) in s.iter().enumerate() {
                        assert_eq!(new_state[k][i], *s, "{name} state {k}, {len}, {i}");
                    }
                }
            }
        }
    }

    fn a_non_finite_result_anywhere_is_reported_and_only_then<T: Float>() {
        for name in RULES {
            for len in LENGTHS {
                for at in [0, len / 2, len - 1] {
                    for bad in [T::nan(), T::infinity(), T::max_value()] {
                        let mut grad = values::<T>(len, 9);
                        grad[at] = bad;
                        let (new, state, finite) = run(name, &grad);
                        let all_finite = new.iter().chain(state.iter().flatten()).all(|v| v.is_finite());
                        assert_eq!(finite, all_finite, "{name}, {len}: {bad} at {at}");
                        // A huge but finite gradient may or may not overflow a rule; NaN and ∞ always spoil.
                        assert!(!finite || bad.is_finite(), "{name}, {bad}");
                    }
                }
            }
        }
    }

    #[test]
    fn f32_rules_match_their_element_wise_formulas() {
        rules_match_their_element_wise_formulas::<f32>();
    }

    #[test]
    fn f64_rules_match_their_element_wise_formulas() {
        rules_match_their_element_wise_formulas::<f64>();
    }

    #[test]
    fn f32_non_finite_results_are_reported() {
        a_non_finite_result_anywhere_is_reported_and_only_then::<f32>();
    }

    #[test]
    fn f64_non_finite_results_are_reported() {
        a_non_finite_result_anywhere_is_reported_and_only_then::<f64>();
    }
}
