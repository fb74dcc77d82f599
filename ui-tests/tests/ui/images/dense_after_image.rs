use gradc::network;

network! {
    struct Net {
        input: [1, 8, 8],
        conv: conv2d(4, 3),
        fc: dense(10),
        loss: mse,
        optimizer: sgd(lr = 0.1),
    }
}

fn main() {}
