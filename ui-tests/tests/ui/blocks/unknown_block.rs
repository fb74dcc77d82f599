use gradc::network;

network! {
    struct Net {
        input: [6],
        res: resnet { dense(6), relu },
        loss: mse,
        optimizer: sgd(lr = 0.1),
    }
}

fn main() {}
