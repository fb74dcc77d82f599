use gradc::network;

network! {
    init struct Net {
        input: [4],
        out: dense(2),
        loss: mse,
        optimizer: sgd(lr = 0.1),
    }
}

fn main() {
    // The stub struct still exists, so only gradc's error is reported.
    let _ = std::mem::size_of::<Net>();
}
