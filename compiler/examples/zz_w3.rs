fn main() {
    let src = std::fs::read_to_string("/tmp/w3.txt").unwrap();
    let tokens: proc_macro2::TokenStream = src.parse().unwrap();
    let n: usize = std::env::args().nth(1).map(|s| s.parse().unwrap()).unwrap_or(5);
    let mut best = f64::MAX;
    for _ in 0..n {
        let t = std::time::Instant::now();
        let out = gradc_compiler::try_expand(tokens.clone()).unwrap();
        best = best.min(t.elapsed().as_secs_f64());
        std::hint::black_box(out);
    }
    println!("W3 expansion best of {n}: {:.1} ms", best * 1e3);
}
