use gradc::network;

network! {
    struct Net {
        input: [4],
        fc1: dense(3),
        loss: mse,
        optimizer: adam(momentum = 0.9),
    }
}

fn main() {}
