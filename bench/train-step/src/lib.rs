//! Nothing but a home for `benches/train_step.rs` (`cargo bench -p gradc-bench`): criterion
//! is its dependency alone, so building gradc's examples does not build it.
