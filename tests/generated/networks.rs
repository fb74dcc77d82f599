// Written by `GRADC_WRITE_GENERATED=1 cargo test -p gradc-compiler --test random_networks`
// from the generator in compiler/tests/support/random_networks.rs; do not edit.
cases! {
    Net0 { input: [1, 4, 5], l0: relu, global_avg_pool, out: dense(3), loss: mse, optimizer: nesterov(lr = 0.1) }
    Net1 { input: [3], l0: tanh, l1: prelu(per_unit = true), out: dense(2), loss: softmax_cross_entropy, optimizer: adam(lr = 0.1), dtype: f64, fusion: false }
    Net2 { input: [2, 5, 4], l0: conv2d(2, 2, stride = 2, padding = 1), flatten, out: dense(1), loss: binary_cross_entropy, optimizer: rmsprop(lr = 0.01) }
    Net3 { input: [2], l0: sigmoid, l1: dense(5, init = lecun_normal), out: dense(1), loss: binary_cross_entropy, optimizer: adam(lr = 0.01, clip_norm = 1.0), fusion: false }
    Net4 { input: [4], l0: dense(3, init = he_normal), out: dense(3), loss: binary_cross_entropy, optimizer: momentum(lr = 0.1) }
    Net5 { input: [4], l0: gelu, l1: relu, l2: tanh, l3: prelu(per_unit = true), l4: tanh, out: dense(3), loss: mse, optimizer: adam(lr = 0.01) }
    Net6 { input: [4], l0: gelu(approximate = tanh), l1: dense(2, init = normal(0.5)), l2: gelu, out: dense(1), loss: binary_cross_entropy, optimizer: nesterov(lr = 0.1), dtype: f64, regularize: l1(1e-2) }
    Net7 { input: [3], l0: tanh, l1: residual(project = dense) { prelu(per_unit = true), relu }, l2: residual(project = dense) { dense(5) }, #[lr_scale = 0.5] l3: batch_norm(momentum = 0.1), l4: relu, out: dense(3), loss: softmax_cross_entropy, optimizer: adam(lr = 0.01, clip_norm = 1.0) }
    Net8 { input: [3], l0: dense(2, bias = false), l1: batch_norm(momentum = 0.3), l2: sigmoid, l3: dense(3, bias = false), out: dense(3), loss: mse, optimizer: adam(lr = 0.01, clip_norm = 1.0), regularize: l2(1e-2) }
    Net9 { input: [2], l0: relu, out: dense(3), loss: softmax_cross_entropy, optimizer: adamw(lr = 0.01, weight_decay = 0.01), dtype: f64 }
    Net10 { input: [3], l0: dense(3, bias = false), out: dense(1), loss: mse, optimizer: adamw(lr = 0.01, weight_decay = 0.01) }
    Net11 { input: [3], l0: dense(2, init = lecun_normal), out: dense(1), loss: softmax_cross_entropy, optimizer: rmsprop(lr = 0.01), dtype: f64, fusion: false }
    Net12 { input: [2], l0: dense(5), l1: relu, l2: relu, l3: dense(5, bias = false), out: dense(3), loss: binary_cross_entropy, optimizer: rmsprop(lr = 0.01) }
    Net13 { input: [4], l0: batch_norm(momentum = 0.1), l1: silu, l2: prelu, l3: dense(5, bias = false), out: dense(2), loss: softmax_cross_entropy, optimizer: adamw(lr = 0.1, weight_decay = 0.01) }
    Net14 { input: [3], l0: tanh, l1: dense(5), l2: dense(3, init = normal(0.5)), l3: elu(alpha = 0.5), out: dense(2), loss: mse, optimizer: nesterov(lr = 0.01), regularize: l1(1e-2) }
    Net15 { input: [4], l0: tanh, out: dense(3), loss: softmax_cross_entropy, optimizer: rmsprop(lr = 0.1), dtype: f64, fusion: false }
    Net16 { input: [3], l0: dense(2, bias = false), out: dense(1), loss: softmax_cross_entropy, optimizer: nesterov(lr = 0.1) }
    Net17 { input: [1, 5, 4], l0: residual(project = conv1x1) { conv2d(2, 3, padding = same) }, l1: tanh, l2: leaky_relu(0.1), flatten, out: dense(1), loss: mse, optimizer: adam(lr = 0.01), dtype: f64 }
    Net18 { input: [4], l0: sigmoid, out: dense(3), loss: softmax_cross_entropy, optimizer: adam(lr = 0.01, clip_norm = 1.0), dtype: f64 }
    Net19 { input: [3], l0: dense(3, init = normal(0.5)), l1: residual(project = dense) { prelu(per_unit = true), leaky_relu(0.1) }, l2: tanh, l3: batch_norm(momentum = 0.3), out: dense(2), loss: binary_cross_entropy, optimizer: nesterov(lr = 0.1), dtype: f64 }
    Net20 { input: [3], #[lr_scale = 0.5] l0: dense(5, init = he_normal), out: dense(1), loss: mse, optimizer: sgd(lr = 0.1), fusion: false }
    Net21 { input: [4], l0: dense(5, init = glorot_uniform), l1: dense(2, init = lecun_normal), l2: gelu, out: dense(2), loss: binary_cross_entropy, optimizer: rmsprop(lr = 0.1), dtype: f64 }
    Net22 { input: [3], #[lr_scale = 0.5] l0: dense(5, bias = false), out: dense(3), loss: softmax_cross_entropy, optimizer: sgd(lr = 0.1), fusion: false }
    Net23 { input: [1, 4, 4], l0: avg_pool2d(2, stride = 1), global_avg_pool, out: dense(2), loss: softmax_cross_entropy, optimizer: adam(lr = 0.01, clip_norm = 1.0) }
    Net24 { input: [3], l0: dense(3, bias = false), l1: batch_norm(momentum = 0.1), l2: batch_norm(momentum = 0.3), l3: prelu(per_unit = true), l4: silu, out: dense(3), loss: mse, optimizer: adamw(lr = 0.01, weight_decay = 0.01), dtype: f64 }
    Net25 { input: [3], l0: tanh, l1: relu, l2: residual { dense(3), gelu(approximate = tanh) }, l3: dense(3), out: dense(3), loss: softmax_cross_entropy, optimizer: momentum(lr = 0.01), dtype: f64 }
    Net26 { input: [2], l0: residual { dense(2), gelu }, out: dense(1), loss: softmax_cross_entropy, optimizer: sgd(lr = 0.1) }
    Net27 { input: [4], l0: gelu(approximate = tanh), l1: prelu(per_unit = true), out: dense(2), loss: binary_cross_entropy, optimizer: adamw(lr = 0.01, weight_decay = 0.01) }
    Net28 { input: [4], l0: dense(2, bias = false), l1: residual { dense(2), gelu(approximate = tanh) }, l2: residual(project = dense) { relu }, l3: gelu, l4: dense(3, bias = false), out: dense(2), loss: mse, optimizer: sgd(lr = 0.1), regularize: l1(1e-2), fusion: false }
    Net29 { input: [2], l0: dense(3, bias = false), l1: dense(2, bias = false), l2: relu, out: dense(2), loss: softmax_cross_entropy, optimizer: momentum(lr = 0.01) }
}
