use gradc::network;

network! {
    struct Net {
        input: [4],
        fc1: dense(3),
        loss: mse,
        optimizer: rmsprop(lr = 1e999),
    }
}

fn main() {}
