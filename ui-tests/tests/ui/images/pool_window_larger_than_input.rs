use gradc::network;

network! {
    struct Net {
        input: [2, 5, 5],
        pool: max_pool2d(2),
        pool2: max_pool2d(3),
        out: flatten,
        loss: mse,
        optimizer: sgd(lr = 0.1),
    }
}

fn main() {}
