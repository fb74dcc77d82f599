use gradc::network;

network! {
    struct Net {
        input: [6],
        res: residual { dense(4), relu },
        loss: mse,
        optimizer: sgd(lr = 0.1),
    }
}

fn main() {}
