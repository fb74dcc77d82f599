//! Every optimizer against PyTorch, step for step: after five steps on a batch-norm MLP and a
//! prelu MLP, with and without `clip_norm` and `l2`, every parameter, running statistic and
//! optimizer state tensor matches to 1e-5 relative in f32 and 1e-10 in f64. The fixtures
//! come from `tools/make_optimizer_fixtures.py` (rmsprop with ε inside the root is written
//! there from its formula, PyTorch's RMSprop being the ε-outside variant).

mod common;

use std::path::Path;

use common::{fixture_tensor, relative_error};

use gradc::ndarray::{Array2, ArrayD};
use gradc::{Float, Model, Targets, network};
use safetensors::SafeTensors;

macro_rules! nets {
    ($bn:ident, $prelu:ident, $dtype:ident, { $($optimizer:tt)* }) => {
        network! {
            struct $bn {
                input: [5], fc1: dense(6, bias = false), bn1: batch_norm, act1: relu, out: dense(3),
                loss: softmax_cross_entropy, $($optimizer)* dtype: $dtype,
            }
        }
        network! {
            struct $prelu {
                input: [5], fc1: dense(6), act1: prelu, out: dense(2),
                loss: mse, $($optimizer)* dtype: $dtype,
            }
        }
    };
}

macro_rules! optimizer_cases {
    ($($test:ident: $opt:ident ( $($args:tt)* ) => $(#[$reg:meta])? [$bn32:ident $prelu32:ident $bn64:ident $prelu64:ident
        $rbn32:ident $rprelu32:ident $rbn64:ident $rprelu64:ident];)*) => {$(
        nets!($bn32, $prelu32, f32, { optimizer: $opt($($args)*), });
        nets!($bn64, $prelu64, f64, { optimizer: $opt($($args)*), });
        nets!($rbn32, $rprelu32, f32, { optimizer: $opt($($args)*, clip_norm = 0.5), regularize: l2(0.01), });
        nets!($rbn64, $rprelu64, f64, { optimizer: $opt($($args)*, clip_norm = 0.5), regularize: l2(0.01), });

        #[test]
        fn $test() {
            let name = stringify!($test);
            let mut worst = [0.0f64; 2];
            for (i, e) in [
                check(&format!("bn_{name}_plain_float32"), $bn32::new(0), 1e-5),
                check(&format!("prelu_{name}_plain_float32"), $prelu32::new(0), 1e-5),
                check(&format!("bn_{name}_reg_float32"), $rbn32::new(0), 1e-5),
                check(&format!("prelu_{name}_reg_float32"), $rprelu32::new(0), 1e-5),
                check(&format!("bn_{name}_plain_float64"), $bn64::new(0), 1e-10),
                check(&format!("prelu_{name}_plain_float64"), $prelu64::new(0), 1e-10),
                check(&format!("bn_{name}_reg_float64"), $rbn64::new(0), 1e-10),
                check(&format!("prelu_{name}_reg_float64"), $rprelu64::new(0), 1e-10),
            ]
            .into_iter()
            .enumerate()
            {
                worst[i / 4] = worst[i / 4].max(e);
            }
            println!("{name}: worst relative error f32 {:.1e}, f64 {:.1e}", worst[0], worst[1]);
        }
    )*};
}

optimizer_cases! {
    sgd: sgd(lr = 0.1) => [SgdBn32 SgdPrelu32 SgdBn64 SgdPrelu64 SgdBnR32 SgdPreluR32 SgdBnR64 SgdPreluR64];
    momentum: momentum(lr = 0.1, beta = 0.9) => [MomBn32 MomPrelu32 MomBn64 MomPrelu64 MomBnR32 MomPreluR32 MomBnR64 MomPreluR64];
    nesterov: nesterov(lr = 0.1, beta = 0.9) => [NesBn32 NesPrelu32 NesBn64 NesPrelu64 NesBnR32 NesPreluR32 NesBnR64 NesPreluR64];
    rmsprop_torch: rmsprop(lr = 0.01, beta = 0.99, eps = 1e-8, eps_inside = false) =>
        [RmstBn32 RmstPrelu32 RmstBn64 RmstPrelu64 RmstBnR32 RmstPreluR32 RmstBnR64 RmstPreluR64];
    rmsprop: rmsprop(lr = 0.01) => [RmsBn32 RmsPrelu32 RmsBn64 RmsPrelu64 RmsBnR32 RmsPreluR32 RmsBnR64 RmsPreluR64];
    adam: adam(lr = 0.01) => [AdamBn32 AdamPrelu32 AdamBn64 AdamPrelu64 AdamBnR32 AdamPreluR32 AdamBnR64 AdamPreluR64];
    adamw: adamw(lr = 0.01, weight_decay = 0.01) =>
        [AdamwBn32 AdamwPrelu32 AdamwBn64 AdamwPrelu64 AdamwBnR32 AdamwPreluR32 AdamwBnR64 AdamwPreluR64];
}

/// Runs five steps of `net` on the fixture `case` and returns the worst relative error.
fn check<M: Model>(case: &str, mut net: M, tolerance: f64) -> f64 {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/optimizers");
    net.load(dir.join(format!("{case}.weights.safetensors"))).unwrap();
    let bytes = std::fs::read(dir.join(format!("{case}.data.safetensors"))).unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let x: Array2<M::Scalar> =
        fixture_tensor(&file, "x").unwrap().into_dimensionality().unwrap().mapv(M::Scalar::from_f64);
    let labels: Option<Vec<usize>> = fixture_tensor(&file, "labels").map(|l| l.iter().map(|&v| v as usize).collect());
    let values: Option<Array2<M::Scalar>> =
        fixture_tensor(&file, "targets").map(|t| t.into_dimensionality().unwrap().mapv(M::Scalar::from_f64));
    for _ in 0..5 {
        let targets = match (&labels, &values) {
            (Some(l), _) => Targets::Classes(l),
            (None, Some(v)) => Targets::Values(v.view()),
            _ => panic!("no targets"),
        };
        net.train_step(x.view(), targets).unwrap();
    }
    let mut worst = 0.0f64;
    let mut compare = |what: String, actual: ArrayD<f64>, expected: ArrayD<f64>| {
        let e = relative_error(&actual, &expected);
        assert!(e < tolerance, "{case}: {what} differs from PyTorch by {e:e}");
        worst = worst.max(e);
    };
    for spec in M::info().params {
        let actual = net.param(spec.name).unwrap().mapv(|v| v.as_f64());
        compare(spec.name.to_string(), actual, fixture_tensor(&file, &format!("after.{}", spec.name)).unwrap());
        for state in net.optimizer().names() {
            let name = format!("{}.{state}", spec.name);
            if let Some(expected) = fixture_tensor(&file, &format!("state.{name}")) {
                compare(name.clone(), net.optimizer_state(&name).unwrap().mapv(|v| v.as_f64()), expected);
            }
        }
    }
    worst
}
