use gradc::network;

network! {
    struct Net {
        input: [3, 8, 8],
        res: residual { conv2d(4, 3, padding = 1), relu },
        out: flatten,
        loss: mse,
        optimizer: sgd(lr = 0.1),
    }
}

fn main() {}
