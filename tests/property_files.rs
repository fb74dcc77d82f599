//! A deterministic property test of every file reader: thousands of mutations of valid weights,
//! optimizer and checkpoint files (bit flips, truncations, overwritten bytes in the header and
//! the data) go through `load`, `load_optimizer`, `load_checkpoint` and `load_partial`. None may
//! panic, and a refused file must leave the network exactly as it was.

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};

use gradc::{Model, NameMap, network};

network! {
    struct Small {
        input: [3],
        fc: dense(4), bn: batch_norm, act: relu,
        out: dense(2),
        loss: softmax_cross_entropy, optimizer: adam(lr = 0.01),
    }
}

struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A mutation of `bytes`: mostly in the 8-byte length and the JSON header, where the structure is.
fn mutate(g: &mut Gen, bytes: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let header_end = 8 + u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    for _ in 0..1 + g.below(3) {
        let at = if g.below(3) > 0 { g.below(header_end.min(out.len())) } else { g.below(out.len()) };
        match g.below(5) {
            0 => out[at] ^= 1 << g.below(8),
            1 => out[at] = b"0123456789,:{}[]\"FIU"[g.below(20)],
            2 => out.truncate(at),
            3 => out[at] = g.next() as u8,
            _ => {
                let digit = b"0123456789"[g.below(10)];
                out.insert(at, digit);
            }
        }
        if out.is_empty() {
            break;
        }
    }
    out
}

#[test]
fn mutated_files_never_panic_and_never_change_a_network_they_fail_to_load() {
    let dir = std::env::temp_dir().join(format!("gradc-property-files-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut net = Small::new(1);
    let x = gradc::ndarray::Array2::from_shape_fn((4, 3), |(r, c)| (r * 3 + c) as f32 / 10.0);
    net.train_step(x.view(), &[0, 1, 0, 1]).unwrap();
    let files = [
        ("weights", dir.join("w.safetensors")),
        ("optimizer", dir.join("o.safetensors")),
        ("checkpoint", dir.join("c.safetensors")),
    ];
    net.save(&files[0].1).unwrap();
    net.save_optimizer(&files[1].1).unwrap();
    net.save_checkpoint(&files[2].1).unwrap();
    let originals: Vec<Vec<u8>> = files.iter().map(|(_, p)| std::fs::read(p).unwrap()).collect();
    let mutated = dir.join("mutated.safetensors");
    let mut g = Gen(0x51_7C_C1_B7_27_22_0A_95);
    let (mut refused, mut accepted) = (0, 0);
    for case in 0..3000 {
        let kind = case % 3;
        std::fs::write(&mutated, mutate(&mut g, &originals[kind])).unwrap();
        let mut target = net.clone();
        let before = (common::snapshot(&target), target.state().clone(), target.optimizer().clone());
        let result = catch_unwind(AssertUnwindSafe(|| match (kind, case % 2) {
            (0, 0) => target.load(&mutated),
            (0, _) => target.load_partial(&mutated, &NameMap::new()).map(drop),
            (1, _) => target.load_optimizer(&mutated),
            _ => target.load_checkpoint(&mutated),
        }));
        match result {
            Err(_) => panic!("case {case} ({}) panicked", files[kind].0),
            Ok(Ok(())) => accepted += 1,
            Ok(Err(_)) => {
                let after = (common::snapshot(&target), target.state().clone(), target.optimizer().clone());
                assert!(after == before, "case {case} ({}) failed but changed the network", files[kind].0);
                refused += 1;
            }
        }
    }
    eprintln!("{refused} mutated files refused, {accepted} accepted");
    assert!(refused > 1000, "refused {refused}");
    std::fs::remove_dir_all(&dir).unwrap();
}
