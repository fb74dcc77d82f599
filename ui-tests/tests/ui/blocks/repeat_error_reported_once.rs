use gradc::network;

network! {
    struct Net {
        input: [6],
        stage: repeat(3) { dense(6, bias = 1), relu },
        loss: mse,
        optimizer: sgd(lr = 0.1),
    }
}

fn main() {}
