use gradc::network;

network! {
    struct Net {
        input: [6],
        res: residual {},
        loss: mse,
        optimizer: sgd(lr = 0.1),
    }
}

fn main() {}
