//! A deterministic property test of the whole front end and back end: a few thousand generated
//! declarations (valid ones, ones with extreme or wrong arguments, and token-level mutations of
//! both) go through `try_expand`. None may panic or report an internal error, and every
//! successful expansion must parse as a Rust file.

use std::panic::{AssertUnwindSafe, catch_unwind};

/// A small, seeded generator (xorshift64*), so the cases are the same on every run.
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

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    /// A number, usually ordinary, sometimes extreme or of the wrong kind.
    fn number(&mut self, ordinary: &[&str]) -> String {
        if self.chance(97) {
            return self.pick(ordinary).to_string();
        }
        self.pick(&["0", "-1", "1e39", "1e-50", "18446744073709551615", "0.5", "1e308", "-0.0", "3", "1000000000"])
            .to_string()
    }
}

fn init(g: &mut Gen, depth: usize) -> String {
    let plain = ["he_normal", "he_uniform", "glorot_uniform", "glorot_normal", "lecun_normal", "zeros"];
    match g.below(4) {
        0 if depth < 3 => format!("normal({})", g.number(&["0.02", "0.1", "1"])),
        1 if depth < 3 => format!("uniform({})", g.number(&["0.05", "0.5"])),
        2 if depth < 3 && g.chance(10) => format!("normal({})", init(g, depth + 1)),
        _ => g.pick(&plain).to_string(),
    }
}

fn dense_layer(g: &mut Gen) -> String {
    let units = g.number(&["1", "3", "8", "16"]);
    match g.below(4) {
        0 => format!("dense({units})"),
        1 => format!("dense({units}, bias = {})", g.pick(&["true", "false"])),
        2 => format!("dense({units}, init = {})", init(g, 0)),
        _ => format!("dense(units = {units})"),
    }
}

fn image_layer(g: &mut Gen) -> String {
    let k = g.number(&["1", "2", "3"]);
    match g.below(6) {
        0 => format!("conv2d({}, {k})", g.number(&["2", "4"])),
        1 => format!("conv2d({}, {k}, padding = {})", g.number(&["2", "4"]), g.pick(&["same", "1", "(1, 0)", "0"])),
        2 => format!("conv2d({}, ({k}, 1), stride = {})", g.number(&["2", "4"]), g.number(&["1", "2"])),
        3 => format!("max_pool2d({k})"),
        4 => format!("avg_pool2d({k}, stride = 1)"),
        _ => format!("conv2d(4, 3, groups = {}, padding = 1)", g.number(&["1", "2", "4"])),
    }
}

fn any_layer(g: &mut Gen, images: bool, depth: usize) -> String {
    let activations = [
        "relu",
        "tanh",
        "sigmoid",
        "selu",
        "silu",
        "gelu",
        "gelu(approximate = tanh)",
        "elu(alpha = 0.5)",
        "leaky_relu(0.1)",
        "prelu",
        "prelu(per_unit = true)",
    ];
    match g.below(12) {
        0..=2 if images => image_layer(g),
        0..=3 => dense_layer(g),
        4..=6 => g.pick(&activations).to_string(),
        7 => format!("batch_norm(momentum = {}, eps = {})", g.number(&["0.1", "0.01"]), g.number(&["1e-5", "1e-3"])),
        8 => format!("dropout({})", g.number(&["0.1", "0.5"])),
        9 if images => g.pick(&["flatten", "global_avg_pool"]).to_string(),
        10 if depth < 2 => {
            let body: Vec<String> = (0..1 + g.below(3)).map(|_| any_layer(g, images, depth + 1)).collect();
            let head = g.pick(&["residual", "residual(project = dense)", "residual(project = conv1x1)", "repeat(2)"]);
            format!("{head} {{ {} }}", body.join(", "))
        }
        _ if g.chance(10) => g.pick(&["unknown_layer(3)", "dense"]).to_string(),
        _ => g.pick(&["relu", "tanh"]).to_string(),
    }
}

fn declaration(g: &mut Gen) -> String {
    let images = g.chance(35);
    let mut items = vec![if images {
        format!("input: [{}, {}, {}]", g.pick(&["1", "2"]), g.pick(&["4", "6", "1"]), g.pick(&["4", "5"]))
    } else {
        format!("input: [{}]", g.pick(&["1", "4", "7"]))
    }];
    for i in 0..1 + g.below(6) {
        let attribute = match g.below(20) {
            0 | 1 => "#[frozen] ",
            2 => "#[lr_scale = 0.1] ",
            _ => "",
        };
        let name = if g.chance(70) { format!("l{i}: ") } else { String::new() };
        items.push(format!("{attribute}{name}{}", any_layer(g, images, 0)));
    }
    if images && g.chance(90) {
        items.push("flatten".into());
    }
    items.push(format!("out: dense({})", g.number(&["1", "2", "3"])));
    items.push(format!(
        "loss: {}",
        g.pick(&["mse", "softmax_cross_entropy", "binary_cross_entropy", "mse", "softmax_cross_entropy", "huber"])
    ));
    let lr = g.number(&["0.1", "0.01", "1e-3"]);
    items.push(format!(
        "optimizer: {}",
        match g.below(6) {
            0 => format!("sgd(lr = {lr})"),
            1 => format!("momentum(lr = {lr})"),
            2 => format!("adam(lr = {lr}, clip_norm = 1.0)"),
            3 => format!("rmsprop(lr = {lr})"),
            4 => format!("adamw(lr = {lr}, weight_decay = 0.01)"),
            _ => format!("nesterov(lr = {lr})"),
        }
    ));
    if g.chance(30) {
        items.push(format!("dtype: {}", g.pick(&["f32", "f64"])));
    }
    if g.chance(15) {
        items.push(format!("regularize: {}", g.pick(&["l2(1e-4)", "l1(1e-5)", "l2(1e39)"])));
    }
    if g.chance(15) {
        items.push("fusion: false".into());
    }
    format!("struct N {{ {} }}", items.join(", "))
}

/// A character-level mutation: delete, duplicate or replace a short stretch.
fn mutate(g: &mut Gen, src: &str) -> String {
    let chars: Vec<char> = src.chars().collect();
    let at = g.below(chars.len());
    let len = 1 + g.below(4).min(chars.len() - at - 1);
    let mut out: Vec<char> = chars[..at].to_vec();
    match g.below(3) {
        0 => {}
        1 => {
            out.extend(&chars[at..at + len]);
            out.extend(&chars[at..at + len]);
        }
        _ => out.extend(g.pick(&["(", ")", ",", "{", "}", "=", "0", "-", "relu", "[", "]", ":", "#"]).chars()),
    }
    out.extend(&chars[(at + len).min(chars.len())..]);
    out.into_iter().collect()
}

#[test]
fn generated_declarations_never_panic_and_expand_to_valid_rust() {
    let mut g = Gen(0x9E37_79B9_7F4A_7C15);
    let (mut expanded, mut rejected) = (0, 0);
    for case in 0..4000 {
        let mut src = declaration(&mut g);
        if case % 4 == 3 {
            src = mutate(&mut g, &src);
        }
        let Ok(tokens) = src.parse::<proc_macro2::TokenStream>() else { continue };
        let result = catch_unwind(AssertUnwindSafe(|| gradc_compiler::try_expand(tokens)));
        match result {
            Err(_) => panic!("case {case} panicked:\n{src}"),
            Ok(Ok(code)) => {
                if let Err(e) = syn::parse2::<syn::File>(code) {
                    panic!("case {case} expanded to code that does not parse ({e}):\n{src}");
                }
                expanded += 1;
            }
            Ok(Err(error)) => {
                let message = error.to_string();
                assert!(!message.contains("internal error"), "case {case}: {message}\n{src}");
                assert!(!message.is_empty());
                rejected += 1;
                if std::env::var("SHOW_REJECTIONS").is_ok() {
                    eprintln!("REJECT {}", message.chars().take(70).collect::<String>());
                }
            }
        }
    }
    eprintln!("{expanded} declarations expanded, {rejected} rejected");
    // The generator reaches both outcomes often enough to mean something.
    assert!(expanded > 1000 && rejected > 1000, "expanded {expanded}, rejected {rejected}");
}
