use gradc::network;

network! {
    struct Net {
        input: [4],
        fc1: dense(8, init = normal(1e39)),
        act: leaky_relu(1e39),
        #[lr_scale = 1e40] bn: batch_norm(eps = 1e-50),
        out: dense(2),
        loss: mse,
        optimizer: sgd(lr = 1e39),
    }
}

fn main() {}
