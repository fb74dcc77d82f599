//! f64 central-difference checks of every compiled gradient: every activation with every
//! loss. The relative error must stay below 1e-6.

mod common;

use common::{Owned, gradient_check, matrix};
use gradc::{Model, network};

macro_rules! gradient_checks {
    ($($test:ident: $net:ident, $act:ident $(( $($arg:tt)* ))?, $loss:ident;)*) => {$(
        network! {
            struct $net {
                input: [4],
                hidden: dense(5),
                act: $act $(( $($arg)* ))?,
                out: dense(3),
                loss: $loss,
                optimizer: sgd(lr = 0.1),
                dtype: f64,
            }
        }

        #[test]
        fn $test() {
            let mut net = $net::new(7);
            // A batch where pre-activations are spread over both sides of every kink.
            let x = matrix(6, 4, 11, 1.5);
            let targets = Owned::for_loss(<$net as Model>::info().loss, 6, 3, 3);
            let error = gradient_check(&mut net, &x, &targets);
            assert!(error < 1e-6, "relative error {error:e}");
        }
    )*};
}

gradient_checks! {
    sigmoid_softmax_ce: SigmoidSce, sigmoid, softmax_cross_entropy;
    sigmoid_bce: SigmoidBce, sigmoid, binary_cross_entropy;
    sigmoid_mse: SigmoidMse, sigmoid, mse;
    tanh_softmax_ce: TanhSce, tanh, softmax_cross_entropy;
    tanh_bce: TanhBce, tanh, binary_cross_entropy;
    tanh_mse: TanhMse, tanh, mse;
    relu_softmax_ce: ReluSce, relu, softmax_cross_entropy;
    relu_bce: ReluBce, relu, binary_cross_entropy;
    relu_mse: ReluMse, relu, mse;
    leaky_relu_softmax_ce: LeakySce, leaky_relu(0.1), softmax_cross_entropy;
    leaky_relu_bce: LeakyBce, leaky_relu(0.1), binary_cross_entropy;
    leaky_relu_mse: LeakyMse, leaky_relu(0.1), mse;
    elu_softmax_ce: EluSce, elu(alpha = 0.8), softmax_cross_entropy;
    elu_bce: EluBce, elu(alpha = 0.8), binary_cross_entropy;
    elu_mse: EluMse, elu(alpha = 0.8), mse;
    selu_softmax_ce: SeluSce, selu, softmax_cross_entropy;
    selu_bce: SeluBce, selu, binary_cross_entropy;
    selu_mse: SeluMse, selu, mse;
    gelu_softmax_ce: GeluSce, gelu, softmax_cross_entropy;
    gelu_bce: GeluBce, gelu, binary_cross_entropy;
    gelu_mse: GeluMse, gelu, mse;
    gelu_tanh_softmax_ce: GeluTanhSce, gelu(approximate = tanh), softmax_cross_entropy;
    gelu_tanh_bce: GeluTanhBce, gelu(approximate = tanh), binary_cross_entropy;
    gelu_tanh_mse: GeluTanhMse, gelu(approximate = tanh), mse;
    silu_softmax_ce: SiluSce, silu, softmax_cross_entropy;
    silu_bce: SiluBce, silu, binary_cross_entropy;
    silu_mse: SiluMse, silu, mse;
    prelu_softmax_ce: PreluSce, prelu, softmax_cross_entropy;
    prelu_bce: PreluBce, prelu, binary_cross_entropy;
    prelu_mse: PreluMse, prelu, mse;
    prelu_per_unit_softmax_ce: PreluUnitSce, prelu(init = 0.3, per_unit = true), softmax_cross_entropy;
    prelu_per_unit_bce: PreluUnitBce, prelu(init = 0.3, per_unit = true), binary_cross_entropy;
    prelu_per_unit_mse: PreluUnitMse, prelu(init = 0.3, per_unit = true), mse;
}

network! {
    /// Two activations in a row, no biases, a frozen layer: gradient sums and pruning.
    struct Stacked {
        input: [3],
        #[frozen] base: dense(4),
        a1: tanh,
        mid: dense(4, bias = false),
        a2: silu,
        a3: sigmoid,
        out: dense(2),
        loss: mse,
        optimizer: sgd(lr = 0.1),
        dtype: f64,
    }
}

#[test]
fn stacked_activations_without_bias_and_a_frozen_layer() {
    let mut net = Stacked::new(1);
    let x = matrix(5, 3, 2, 1.0);
    let targets = Owned::for_loss(gradc::LossKind::MeanSquaredError, 5, 2, 9);
    assert!(gradient_check(&mut net, &x, &targets) < 1e-6);
    // The frozen layer has no compiled gradient.
    assert!(net.grad("base.weight").is_err());
    assert!(!Stacked::TRAIN_IR.contains("grad base.weight"));
}
