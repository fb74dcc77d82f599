use gradc::network;

network! {
    struct Net {
        input: [1, 4, 4],
        conv: conv2d(4, (3, 5)),
        out: flatten,
        loss: mse,
        optimizer: sgd(lr = 0.1),
    }
}

fn main() {}
