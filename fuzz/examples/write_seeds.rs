//! Writes the seed corpora: declarations taken from the repository's examples and tests, and
//! a valid weights, optimizer and checkpoint file of the `files` target's network.
//!
//! ```text
//! cd fuzz && cargo run --example write_seeds
//! ```

use gradc::ndarray::array;
use gradc::network;

network! {
    struct Small {
        input: [3],
        fc: dense(4), bn: batch_norm, act: relu,
        out: dense(2),
        loss: softmax_cross_entropy, optimizer: adam(lr = 0.01),
    }
}

fn main() -> gradc::Result<()> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let mut net = Small::new(7);
    let x = array![[0.1f32, -0.2, 0.3], [0.5, 0.4, -1.0], [0.0, 0.2, 0.9]];
    net.train_step(x.view(), &[0, 1, 1])?;
    net.save(root.join("files/weights.safetensors"))?;
    net.save_optimizer(root.join("files/optimizer.safetensors"))?;
    net.save_checkpoint(root.join("files/checkpoint.safetensors"))?;
    println!("wrote 3 file seeds under {}", root.display());
    Ok(())
}
