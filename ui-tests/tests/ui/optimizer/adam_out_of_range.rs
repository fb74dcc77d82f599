use gradc::network;

network! {
    struct Net {
        input: [4],
        fc1: dense(3),
        loss: mse,
        optimizer: adam(lr = 0.01, beta1 = 1.0, clip_norm = 0),
    }
}

fn main() {}
