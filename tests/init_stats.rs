//! Statistical tests of the initializers: the sample mean and variance of every initialized
//! weight tensor lie within bounds derived from its distribution and size, and the default
//! initializer follows the activation after the layer.

use gradc::init::InitDistribution;
use gradc::{Init, Model, network};

network! {
    struct Inits {
        input: [300],
        glorot_normal: dense(200, init = glorot_normal),
        glorot_uniform: dense(300, init = glorot_uniform),
        he_normal: dense(200, init = he_normal),
        he_uniform: dense(300, init = he_uniform),
        lecun_normal: dense(200, init = lecun_normal),
        lecun_uniform: dense(300, init = lecun_uniform),
        zeros: dense(200, init = zeros),
        normal: dense(300, init = normal(0.02)),
        uniform: dense(200, init = uniform(0.3)),
        loss: mse,
        optimizer: sgd(lr = 0.1),
        dtype: f64,
    }
}

/// Six standard errors: a correct initializer fails one of these ~1e-9 of the time.
const Z: f64 = 6.0;

#[test]
fn every_initializer_has_its_mean_and_variance() {
    let net = Inits::new(2024);
    for spec in <Inits as Model>::info().params.iter().filter(|s| s.name.ends_with(".weight")) {
        let values = net.param(spec.name).unwrap();
        let n = values.len() as f64;
        let mean = values.sum() / n;
        let var = values.mapv(|v| (v - mean) * (v - mean)).sum() / (n - 1.0);
        let (expected_var, var_of_x2) = match spec.init.distribution(spec.shape) {
            // For N(0, σ²): Var(x²) = 2σ⁴.
            InitDistribution::Normal { std } => (std * std, 2.0 * std.powi(4)),
            // For U(−a, a): σ² = a²/3 and Var(x²) = a⁴/5 − a⁴/9 = 4a⁴/45; every |x| ≤ a.
            InitDistribution::Uniform { limit } => {
                assert!(values.iter().all(|v| v.abs() <= limit), "{}: sample outside ±{limit}", spec.name);
                (limit * limit / 3.0, 4.0 * limit.powi(4) / 45.0)
            }
            InitDistribution::Constant { value } => {
                assert!(values.iter().all(|&v| v == value), "{}", spec.name);
                continue;
            }
        };
        let mean_bound = Z * (expected_var / n).sqrt();
        let var_bound = Z * (var_of_x2 / n).sqrt();
        assert!(mean.abs() < mean_bound, "{}: mean {mean} outside ±{mean_bound}", spec.name);
        assert!(
            (var - expected_var).abs() < var_bound,
            "{}: variance {var}, expected {expected_var} ± {var_bound}",
            spec.name
        );
    }
}

#[test]
fn the_variances_are_the_documented_formulas() {
    // Fans of a [out, in] = [200, 300] weight: glorot 2/(in+out), he 2/in, lecun 1/in.
    let var = |init: Init| match init.distribution(&[200, 300]) {
        InitDistribution::Normal { std } => std * std,
        InitDistribution::Uniform { limit } => limit * limit / 3.0,
        InitDistribution::Constant { .. } => 0.0,
    };
    let close = |a: f64, b: f64| (a - b).abs() < 1e-15;
    assert!(close(var(Init::GlorotNormal), 2.0 / 500.0));
    assert!(close(var(Init::GlorotUniform), 2.0 / 500.0));
    assert!(close(var(Init::HeNormal), 2.0 / 300.0));
    assert!(close(var(Init::HeUniform), 2.0 / 300.0));
    assert!(close(var(Init::LecunNormal), 1.0 / 300.0));
    assert!(close(var(Init::LecunUniform), 1.0 / 300.0));
}

#[test]
fn conv_weights_use_pytorchs_fans() {
    // [out, in/groups, kh, kw] = [16, 3, 5, 4]: fan_in = 3·5·4 = 60, fan_out = 16·5·4 = 320.
    assert_eq!(Init::fans(&[16, 3, 5, 4]), (60, 320));
    assert_eq!(Init::fans(&[200, 300]), (300, 200));
    let std = |init: Init| match init.distribution(&[16, 3, 5, 4]) {
        InitDistribution::Normal { std } => std,
        other => panic!("{other:?}"),
    };
    assert!((std(Init::HeNormal) - (2.0f64 / 60.0).sqrt()).abs() < 1e-15);
    assert!((std(Init::GlorotNormal) - (2.0f64 / 380.0).sqrt()).abs() < 1e-15);
}

#[test]
fn initialization_is_deterministic_from_the_seed() {
    let (a, b, c) = (Inits::new(5), Inits::new(5), Inits::new(6));
    assert_eq!(a.param("he_normal.weight").unwrap(), b.param("he_normal.weight").unwrap());
    assert_ne!(a.param("he_normal.weight").unwrap(), c.param("he_normal.weight").unwrap());
    // Biases start at zero.
    assert!(a.param("he_normal.bias").unwrap().iter().all(|&v| v == 0.0));
}

network! {
    struct Defaults {
        input: [4],
        before_relu: dense(4), act1: relu,
        before_elu: dense(4), act2: elu,
        before_selu: dense(4), act3: selu,
        before_tanh: dense(4), act4: tanh,
        before_prelu: dense(4), act5: prelu,
        before_sigmoid: dense(4), act6: sigmoid,
        before_dense: dense(4),
        last: dense(2),
        loss: mse,
        optimizer: sgd(lr = 0.1),
    }
}

#[test]
fn default_initializer_follows_the_next_activation() {
    let init_of = |name: &str| <Defaults as Model>::info().params.iter().find(|s| s.name == name).unwrap().init;
    assert_eq!(init_of("before_relu.weight"), Init::HeNormal);
    assert_eq!(init_of("before_elu.weight"), Init::HeNormal);
    assert_eq!(init_of("before_selu.weight"), Init::LecunNormal);
    assert_eq!(init_of("before_tanh.weight"), Init::GlorotUniform);
    assert_eq!(init_of("before_prelu.weight"), Init::HeNormal);
    assert_eq!(init_of("before_sigmoid.weight"), Init::GlorotUniform);
    assert_eq!(init_of("before_dense.weight"), Init::GlorotUniform);
    assert_eq!(init_of("last.weight"), Init::GlorotUniform);
    assert_eq!(init_of("act5.weight"), Init::Constant(0.25));
}
