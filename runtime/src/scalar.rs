//! Scalar formulas of the elementwise ops: each activation and its derivative.
//!
//! Generated kernels map these over buffers. Conventions follow PyTorch, including the
//! value of a derivative at a kink (relu'(0) = 0, leaky_relu'(0) = alpha).

use crate::Float;

#[inline(always)]
fn c<T: Float>(value: f64) -> T {
    T::from_f64(value)
}

/// SELU's scale λ (Klambauer et al., 2017).
pub const SELU_LAMBDA: f64 = 1.050_700_987_355_480_5;
/// SELU's α (Klambauer et al., 2017).
pub const SELU_ALPHA: f64 = 1.673_263_242_354_377_3;
/// √(2/π), used by the tanh form of GELU.
const SQRT_2_OVER_PI: f64 = 0.797_884_560_802_865_4;
/// 1/√(2π), the standard normal density at 0.
const INV_SQRT_2PI: f64 = 0.398_942_280_401_432_7;
/// The cubic coefficient of the tanh form of GELU.
const GELU_TANH_CUBIC: f64 = 0.044_715;

/// σ(x) = 1/(1+e^{−x}), written so that neither branch overflows.
#[inline(always)]
pub fn sigmoid<T: Float>(x: T) -> T {
    if x >= T::zero() {
        T::one() / (T::one() + (-x).exp())
    } else {
        let e = x.exp();
        e / (T::one() + e)
    }
}

/// σ'(x) from the output y = σ(x): y(1 − y).
#[inline(always)]
pub fn sigmoid_grad_from_output<T: Float>(y: T) -> T {
    y * (T::one() - y)
}

/// tanh(x).
#[inline(always)]
pub fn tanh<T: Float>(x: T) -> T {
    x.tanh()
}

/// tanh'(x) from the output y = tanh(x): 1 − y².
#[inline(always)]
pub fn tanh_grad_from_output<T: Float>(y: T) -> T {
    T::one() - y * y
}

/// max(x, 0).
#[inline(always)]
pub fn relu<T: Float>(x: T) -> T {
    if x > T::zero() { x } else { T::zero() }
}

/// relu'(x): 1 for x > 0, else 0.
#[inline(always)]
pub fn relu_grad<T: Float>(x: T) -> T {
    if x > T::zero() { T::one() } else { T::zero() }
}

/// x for x > 0, else αx.
#[inline(always)]
pub fn leaky_relu<T: Float>(x: T, alpha: T) -> T {
    if x > T::zero() { x } else { alpha * x }
}

/// 1 for x > 0, else α.
#[inline(always)]
pub fn leaky_relu_grad<T: Float>(x: T, alpha: T) -> T {
    if x > T::zero() { T::one() } else { alpha }
}

/// x for x > 0, else α(eˣ − 1).
#[inline(always)]
pub fn elu<T: Float>(x: T, alpha: T) -> T {
    if x > T::zero() { x } else { alpha * x.exp_m1() }
}

/// 1 for x > 0, else αeˣ.
#[inline(always)]
pub fn elu_grad<T: Float>(x: T, alpha: T) -> T {
    if x > T::zero() { T::one() } else { alpha * x.exp() }
}

/// λ·elu(x, α) with the fixed SELU constants.
#[inline(always)]
pub fn selu<T: Float>(x: T) -> T {
    c::<T>(SELU_LAMBDA) * elu(x, c(SELU_ALPHA))
}

/// λ·elu'(x, α).
#[inline(always)]
pub fn selu_grad<T: Float>(x: T) -> T {
    c::<T>(SELU_LAMBDA) * elu_grad(x, c(SELU_ALPHA))
}

/// x·Φ(x) = x/2·(1 + erf(x/√2)), the exact GELU.
#[inline(always)]
pub fn gelu<T: Float>(x: T) -> T {
    c::<T>(0.5) * x * (T::one() + (x * c(std::f64::consts::FRAC_1_SQRT_2)).erf())
}

/// Φ(x) + x·φ(x).
#[inline(always)]
pub fn gelu_grad<T: Float>(x: T) -> T {
    let cdf = c::<T>(0.5) * (T::one() + (x * c(std::f64::consts::FRAC_1_SQRT_2)).erf());
    let pdf = c::<T>(INV_SQRT_2PI) * (c::<T>(-0.5) * x * x).exp();
    cdf + x * pdf
}

/// x/2·(1 + tanh(√(2/π)(x + 0.044715x³))), GELU's tanh approximation.
#[inline(always)]
pub fn gelu_tanh<T: Float>(x: T) -> T {
    let inner = c::<T>(SQRT_2_OVER_PI) * (x + c::<T>(GELU_TANH_CUBIC) * x * x * x);
    c::<T>(0.5) * x * (T::one() + inner.tanh())
}

/// The derivative of [`gelu_tanh`].
#[inline(always)]
pub fn gelu_tanh_grad<T: Float>(x: T) -> T {
    let inner = c::<T>(SQRT_2_OVER_PI) * (x + c::<T>(GELU_TANH_CUBIC) * x * x * x);
    let t = inner.tanh();
    let d_inner = c::<T>(SQRT_2_OVER_PI) * (T::one() + c::<T>(3.0 * GELU_TANH_CUBIC) * x * x);
    c::<T>(0.5) * (T::one() + t) + c::<T>(0.5) * x * (T::one() - t * t) * d_inner
}

/// x·σ(x).
#[inline(always)]
pub fn silu<T: Float>(x: T) -> T {
    x * sigmoid(x)
}

/// σ(x)(1 + x(1 − σ(x))).
#[inline(always)]
pub fn silu_grad<T: Float>(x: T) -> T {
    let s = sigmoid(x);
    s * (T::one() + x * (T::one() - s))
}

/// x for x > 0, else a·x (a learnable).
#[inline(always)]
pub fn prelu<T: Float>(x: T, a: T) -> T {
    if x > T::zero() { x } else { a * x }
}

/// ∂prelu/∂x: 1 for x > 0, else a.
#[inline(always)]
pub fn prelu_grad_input<T: Float>(x: T, a: T) -> T {
    if x > T::zero() { T::one() } else { a }
}

/// ∂prelu/∂a: 0 for x > 0, else x (the negative part of x).
#[inline(always)]
pub fn negative_part<T: Float>(x: T) -> T {
    if x > T::zero() { T::zero() } else { x }
}

/// sign(x): −1, 0 or 1 (the L1 subgradient, 0 at 0 as PyTorch).
#[inline(always)]
pub fn sign<T: Float>(x: T) -> T {
    if x > T::zero() {
        T::one()
    } else if x < T::zero() {
        -T::one()
    } else {
        T::zero()
    }
}

/// 1/√(x + ε).
#[inline(always)]
pub fn rsqrt<T: Float>(x: T, eps: T) -> T {
    T::one() / (x + eps).sqrt()
}

/// d/dx 1/√(x + ε) from its output y: −½y³.
#[inline(always)]
pub fn rsqrt_grad_from_output<T: Float>(y: T) -> T {
    c::<T>(-0.5) * y * y * y
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Central difference of `f` at `x` in f64.
    fn numeric(f: impl Fn(f64) -> f64, x: f64) -> f64 {
        let h = 1e-6;
        (f(x + h) - f(x - h)) / (2.0 * h)
    }

    #[test]
    fn derivatives_match_central_differences() {
        type F = fn(f64) -> f64;
        let pairs: [(&str, F, F); 9] = [
            ("sigmoid", sigmoid, |x| sigmoid_grad_from_output(sigmoid(x))),
            ("tanh", tanh, |x| tanh_grad_from_output(x.tanh())),
            ("relu", relu, relu_grad),
            ("leaky", |x| leaky_relu(x, 0.1), |x| leaky_relu_grad(x, 0.1)),
            ("elu", |x| elu(x, 0.7), |x| elu_grad(x, 0.7)),
            ("selu", selu, selu_grad),
            ("gelu", gelu, gelu_grad),
            ("gelu_tanh", gelu_tanh, gelu_tanh_grad),
            ("silu", silu, silu_grad),
        ];
        for (name, f, df) in pairs {
            for x in [-3.1, -0.7, -0.01, 0.02, 0.5, 2.3] {
                let (n, a) = (numeric(f, x), df(x));
                assert!((n - a).abs() < 1e-7 * (1.0 + a.abs()), "{name}'({x}): numeric {n}, analytic {a}");
            }
        }
    }

    #[test]
    fn sigmoid_is_stable_at_extremes() {
        assert_eq!(sigmoid(-1000.0f64), 0.0);
        assert_eq!(sigmoid(1000.0f64), 1.0);
        assert!(sigmoid(-100.0f32) > 0.0);
    }

    #[test]
    fn selu_constants_and_gelu_values() {
        // selu(1) = λ, selu(-inf) -> -λα
        assert_eq!(selu(1.0f64), SELU_LAMBDA);
        assert!((selu(-50.0f64) + SELU_LAMBDA * SELU_ALPHA).abs() < 1e-12);
        // gelu(1) = Φ(1) = 0.8413447460685429 (standard normal CDF table value)
        assert!((gelu(1.0f64) - 0.841_344_746_068_542_9).abs() < 1e-12);
    }
}
