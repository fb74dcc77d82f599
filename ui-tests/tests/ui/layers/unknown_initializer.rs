use gradc::network;

network! {
    struct Net {
        input: [4],
        fc1: dense(3, init = kaiming_normal),
        fc2: dense(3, init = normal),
        loss: mse,
        optimizer: sgd(lr = 0.1),
    }
}

fn main() {}
