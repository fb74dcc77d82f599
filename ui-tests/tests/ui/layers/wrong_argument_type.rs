use gradc::network;

network! {
    struct Net {
        input: [4],
        fc1: dense(1.5),
        act: leaky_relu(alpha = true),
        out: dense(2, bias = 1),
        loss: mse,
        optimizer: sgd(lr = 0.1),
    }
}

fn main() {}
