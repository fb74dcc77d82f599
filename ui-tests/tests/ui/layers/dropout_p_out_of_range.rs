use gradc::network;

network! {
    struct Net {
        input: [4],
        fc1: dense(3),
        drop: dropout(1.0),
        drop2: dropout,
        loss: mse,
        optimizer: sgd(lr = 0.1),
    }
}

fn main() {}
