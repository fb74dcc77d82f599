use gradc::network;

network! {
    struct Net {
        input: [4],
        fc1: dense(3),
        act: leaky_relu(alpha = -0.1),
        act2: elu(-1.0),
        loss: mse,
        optimizer: sgd(lr = 0.1),
    }
}

fn main() {}
