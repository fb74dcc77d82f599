use gradc::network;

network! {
    struct Net {
        input: [4],
        fc1: dense(3, l1 = -1),
        loss: mse,
        optimizer: sgd(lr = 0.1),
        regularize: l1_l2(1e-5, -1e-4),
    }
}

fn main() {}
