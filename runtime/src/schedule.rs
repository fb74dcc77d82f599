//! Learning-rate schedules, usable from any training loop: compute the rate for an epoch (or
//! step) and pass it to `set_lr`.
//!
//! ```
//! use gradc_runtime::schedule::Schedule;
//! let cosine = Schedule::CosineAnnealing { base: 0.1, min: 0.0, period: 10 };
//! assert!((cosine.lr(0) - 0.1).abs() < 1e-12);
//! assert!((cosine.lr(10) - 0.0).abs() < 1e-12);
//! ```

/// A learning rate as a function of the epoch (or step) `t`, counted from 0.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Schedule {
    /// `base · gamma^⌊t / every⌋` (PyTorch `StepLR`).
    StepDecay { base: f64, gamma: f64, every: usize },
    /// `base · gamma^t` (PyTorch `ExponentialLR`).
    Exponential { base: f64, gamma: f64 },
    /// `min + (base − min)(1 + cos(π t / period)) / 2`, held at `min` after the period
    /// (PyTorch `CosineAnnealingLR` for its first half-cycle).
    CosineAnnealing { base: f64, min: f64, period: usize },
    /// From `base · start_factor` rising linearly to `base` over `steps`, then `base`
    /// (PyTorch `LinearLR` with `end_factor = 1`).
    LinearWarmup { base: f64, start_factor: f64, steps: usize },
}

impl Schedule {
    /// The learning rate at `t`.
    pub fn lr(self, t: usize) -> f64 {
        match self {
            Schedule::StepDecay { base, gamma, every } => base * gamma.powi((t / every.max(1)) as i32),
            Schedule::Exponential { base, gamma } => base * gamma.powi(t as i32),
            Schedule::CosineAnnealing { base, min, period } => {
                let t = t.min(period) as f64;
                min + (base - min) * (1.0 + (std::f64::consts::PI * t / period.max(1) as f64).cos()) / 2.0
            }
            Schedule::LinearWarmup { base, start_factor, steps } => {
                let progress = (t as f64 / steps.max(1) as f64).min(1.0);
                base * (start_factor + (1.0 - start_factor) * progress)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Schedule;

    #[test]
    fn schedules_follow_their_formulas() {
        let step = Schedule::StepDecay { base: 1.0, gamma: 0.5, every: 3 };
        assert_eq!([0, 2, 3, 6, 7].map(|t| step.lr(t)), [1.0, 1.0, 0.5, 0.25, 0.25]);
        let exp = Schedule::Exponential { base: 2.0, gamma: 0.9 };
        assert!((exp.lr(2) - 2.0 * 0.81).abs() < 1e-12);
        let cos = Schedule::CosineAnnealing { base: 1.0, min: 0.2, period: 4 };
        assert!((cos.lr(2) - 0.6).abs() < 1e-12);
        assert!((cos.lr(9) - 0.2).abs() < 1e-12);
        let warm = Schedule::LinearWarmup { base: 0.1, start_factor: 0.1, steps: 9 };
        assert!((warm.lr(0) - 0.01).abs() < 1e-12);
        assert!((warm.lr(9) - 0.1).abs() < 1e-12 && (warm.lr(20) - 0.1).abs() < 1e-12);
    }
}
