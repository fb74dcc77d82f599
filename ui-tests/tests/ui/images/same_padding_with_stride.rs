use gradc::network;

network! {
    struct Net {
        input: [3, 8, 8],
        conv: conv2d(4, 3, stride = 2, padding = same),
        out: flatten,
        loss: mse,
        optimizer: sgd(lr = 0.1),
    }
}

fn main() {}
