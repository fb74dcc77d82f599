use gradc::network;

network! {
    enum Net {
        input: [4],
    }
}

fn main() {}
