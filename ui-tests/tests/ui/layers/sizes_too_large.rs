use gradc::network;

network! {
    struct Huge {
        input: [4],
        fc1: dense(18446744073709551615),
        out: dense(2),
        loss: mse,
        optimizer: sgd(lr = 0.1),
    }
}

network! {
    struct Wide {
        input: [1000000],
        fc1: dense(1000000),
        out: dense(2),
        loss: mse,
        optimizer: sgd(lr = 0.1),
    }
}

fn main() {}
