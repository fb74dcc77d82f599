use gradc::network;

network! {
    struct Net {
        input: [3, 8],
        out: dense(2),
        loss: mse,
        optimizer: sgd(lr = 0.1),
    }
}

fn main() {}
