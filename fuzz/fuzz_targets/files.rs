//! Every file reader on arbitrary bytes: `load`, `load_optimizer`, `load_checkpoint` and
//! `load_partial`. None may panic or allocate without bound, and a refused file must leave the
//! network exactly as it was.

#![no_main]

use gradc::{Model, NameMap, network};
use libfuzzer_sys::fuzz_target;

network! {
    struct Small {
        input: [3],
        fc: dense(4), bn: batch_norm, act: relu,
        out: dense(2),
        loss: softmax_cross_entropy, optimizer: adam(lr = 0.01),
    }
}

/// Parameters, optimizer state and training state: what a refused file must not change.
fn state(net: &Small) -> impl PartialEq + std::fmt::Debug + use<> {
    (net.params().values().to_vec(), net.optimizer().clone(), net.state().clone())
}

fuzz_target!(|data: &[u8]| {
    let path = std::env::temp_dir().join(format!("gradc-fuzz-{}.safetensors", std::process::id()));
    std::fs::write(&path, data).expect("the temporary directory is writable");
    let mut net = Small::new(1);
    let before = state(&net);
    let results = [
        net.load(&path).map(drop),
        net.load_optimizer(&path).map(drop),
        net.load_checkpoint(&path).map(drop),
        net.load_partial(&path, &NameMap::new().strip_prefix("backbone.")).map(drop),
    ];
    if results.iter().all(Result::is_err) {
        assert_eq!(state(&net), before, "a refused file changed the network");
    }
});
