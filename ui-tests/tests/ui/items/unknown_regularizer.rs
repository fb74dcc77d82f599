use gradc::network;

network! {
    struct Net {
        input: [4],
        fc1: dense(3),
        loss: mse,
        optimizer: sgd(lr = 0.1),
        regularize: l3(0.1),
    }
}

fn main() {}
