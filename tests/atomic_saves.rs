//! A process killed in the middle of a save leaves the previous file loadable: the test
//! starts itself again as a child that saves weights, optimizer state and checkpoints in a
//! loop, kills it at varied moments, and loads what is on disk each time.

use std::process::{Command, Stdio};
use std::time::Duration;

use gradc::network;

network! {
    /// Large enough that one save takes a while (about 4 MB of weights).
    struct Big {
        input: [256],
        fc1: dense(1024), bn1: batch_norm, act1: relu,
        fc2: dense(512), act2: relu,
        out: dense(10),
        loss: softmax_cross_entropy, optimizer: adam(lr = 0.001),
    }
}

const CHILD: &str = "GRADC_SAVE_LOOP_DIR";

fn trained() -> Big {
    let mut net = Big::new(1);
    let x = gradc::ndarray::Array2::from_shape_fn((8, 256), |(r, c)| ((r * 7 + c * 3) % 11) as f32 / 11.0);
    net.train_step(x.view(), &[0, 1, 2, 3, 4, 5, 6, 7]).unwrap();
    net
}

#[test]
fn a_save_killed_midway_leaves_the_previous_file_loadable() {
    if let Ok(dir) = std::env::var(CHILD) {
        // The child: save forever, until killed.
        let dir = std::path::PathBuf::from(dir);
        let net = trained();
        loop {
            net.save(dir.join("weights.safetensors")).unwrap();
            net.save_optimizer(dir.join("optimizer.safetensors")).unwrap();
            net.save_checkpoint(dir.join("checkpoint.safetensors")).unwrap();
        }
    }
    let dir = std::env::temp_dir().join(format!("gradc-kill-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let net = trained();
    net.save(dir.join("weights.safetensors")).unwrap();
    net.save_optimizer(dir.join("optimizer.safetensors")).unwrap();
    net.save_checkpoint(dir.join("checkpoint.safetensors")).unwrap();
    let exe = std::env::current_exe().unwrap();
    for round in 0..12u64 {
        let mut child = Command::new(&exe)
            .args(["--exact", "a_save_killed_midway_leaves_the_previous_file_loadable", "--test-threads=1"])
            .env(CHILD, &dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(150 + 37 * round));
        child.kill().unwrap();
        child.wait().unwrap();
        let mut fresh = Big::new(2);
        fresh.load(dir.join("weights.safetensors")).unwrap_or_else(|e| panic!("round {round}: weights: {e}"));
        fresh
            .load_optimizer(dir.join("optimizer.safetensors"))
            .unwrap_or_else(|e| panic!("round {round}: optimizer: {e}"));
        fresh
            .load_checkpoint(dir.join("checkpoint.safetensors"))
            .unwrap_or_else(|e| panic!("round {round}: checkpoint: {e}"));
        assert_eq!(fresh.param("fc1.weight").unwrap(), net.param("fc1.weight").unwrap());
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
