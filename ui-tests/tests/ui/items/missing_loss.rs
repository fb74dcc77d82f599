use gradc::network;

network! {
    struct Net {
        input: [4],
        fc1: dense(3),
        optimizer: sgd(lr = 0.1),
    }
}

fn main() {}
