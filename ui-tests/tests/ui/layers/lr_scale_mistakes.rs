use gradc::network;

network! {
    struct Net {
        input: [4],
        #[lr_scale = -0.5] fc1: dense(8),
        #[lr_scale = 0.5] act: relu,
        #[lr_scale] fc2: dense(4),
        #[lr_scale = "fast"] out: dense(2),
        loss: mse,
        optimizer: sgd(lr = 0.1),
    }
}

fn main() {}
