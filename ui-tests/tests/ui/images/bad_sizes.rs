use gradc::network;

network! {
    struct Net {
        input: [3, 8, 8],
        conv: conv2d(4, (3, 3, 3), stride = 0, padding = -1, dilation = (1, 2.5)),
        out: flatten,
        loss: mse,
        optimizer: sgd(lr = 0.1),
    }
}

fn main() {}
