//! On an ill-conditioned least-squares problem (one dense layer, mse, features on scales 1
//! and 10, so the loss surface is a long narrow valley), momentum, Nesterov, RMSprop and Adam
//! each reach the loss threshold in fewer steps than plain SGD at its best stable learning
//! rate, found here by a grid search.

use gradc::ndarray::Array2;
use gradc::{Model, network};

macro_rules! least_squares {
    ($name:ident, $($optimizer:tt)*) => {
        network! {
            struct $name {
                input: [2], fit: dense(1, init = zeros),
                loss: mse, optimizer: $($optimizer)*, dtype: f64,
            }
        }
    };
}

least_squares!(Sgd, sgd(lr = 0.01));
least_squares!(Momentum, momentum(lr = 0.01, beta = 0.9));
least_squares!(Nesterov, nesterov(lr = 0.01, beta = 0.9));
least_squares!(RmsProp, rmsprop(lr = 0.03));
least_squares!(Adam, adam(lr = 0.1));

const MAX_STEPS: usize = 20_000;

/// Badly scaled features and exact linear targets y = x₁ − x₂/10 + 0.5.
fn problem() -> (Array2<f64>, Array2<f64>) {
    let mut state = 7u64;
    let mut next = || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    };
    let x = Array2::from_shape_fn((64, 2), |(_, c)| next() * if c == 0 { 1.0 } else { 10.0 });
    let y = Array2::from_shape_fn((64, 1), |(r, _)| x[[r, 0]] - 0.1 * x[[r, 1]] + 0.5);
    (x, y)
}

/// Full-batch steps until the loss is below `threshold`, or `None` (diverged or too slow).
fn steps_to<M: Model<Scalar = f64>>(mut net: M, lr: f64, threshold: f64) -> Option<usize> {
    let (x, y) = problem();
    net.set_lr(lr).unwrap();
    for step in 1..=MAX_STEPS {
        match net.train_step(x.view(), &y) {
            Ok(stats) if stats.loss < threshold => return Some(step),
            Ok(stats) if stats.loss > 1e6 => return None,
            Ok(_) => {}
            Err(_) => return None,
        }
    }
    None
}

#[test]
fn adaptive_and_momentum_methods_beat_the_best_plain_sgd() {
    // The loss starts near 0.9; 1e-3 is well inside the valley.
    let threshold = 1e-3;
    // Plain SGD over a fine grid of rates up to divergence (2/λ_max ≈ 0.03 here).
    let grid: Vec<f64> = (0..40).map(|i| 0.001 * 1.12f64.powi(i)).collect();
    let (best_lr, best_sgd) = grid
        .iter()
        .filter_map(|&lr| steps_to(Sgd::new(0), lr, threshold).map(|s| (lr, s)))
        .min_by_key(|&(_, s)| s)
        .expect("plain SGD converges for small rates");
    let others = [
        ("momentum", steps_to(Momentum::new(0), best_lr / 4.0, threshold)),
        ("nesterov", steps_to(Nesterov::new(0), best_lr / 4.0, threshold)),
        ("rmsprop", steps_to(RmsProp::new(0), 0.03, threshold)),
        ("adam", steps_to(Adam::new(0), 0.1, threshold)),
    ];
    println!("sgd at its best rate {best_lr:.4}: {best_sgd} steps");
    for (name, steps) in others {
        println!("{name}: {steps:?} steps");
        let steps = steps.unwrap_or_else(|| panic!("{name} did not reach the threshold"));
        assert!(steps < best_sgd, "{name} took {steps} steps, plain SGD {best_sgd}");
    }
}
