use gradc::network;

network! {
    struct Net {
        input: [4],
        fc1: dense(3),
        bn: batch_norm(momentum = 1.5, eps = 0),
        bn2: batch_norm(0.1),
        loss: mse,
        optimizer: sgd(lr = 0.1),
    }
}

fn main() {}
