use gradc::network;

network! {
    struct Net {
        input: [64],
        conv: conv2d(4, 3),
        loss: mse,
        optimizer: sgd(lr = 0.1),
    }
}

fn main() {}
