//! The README's excerpts of compiler output are true of the main example: every kernel name
//! it cites is a function in the code generated for `examples/digits.rs`, and every line of
//! its IR excerpt is a line of that network's training IR. Every `network!` declaration the
//! README shows compiles.

use std::path::Path;

fn workspace_file(path: &str) -> String {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

/// The tokens inside the first `network! { .. }` of the digits example.
fn digits_declaration() -> proc_macro2::TokenStream {
    declaration_in(&workspace_file("examples/digits.rs")).expect("the example declares a network")
}

/// The tokens inside the first `network! { .. }` of `source`, if it has one.
fn declaration_in(source: &str) -> Option<proc_macro2::TokenStream> {
    let start = source.find("network! {")? + "network! {".len();
    let mut depth = 1;
    let end = source[start..]
        .char_indices()
        .find_map(|(i, c)| {
            depth += match c {
                '{' => 1,
                '}' => -1,
                _ => 0,
            };
            (depth == 0).then_some(start + i)
        })
        .expect("balanced braces");
    Some(source[start..end].parse().expect("the declaration tokenizes"))
}

/// The README section that starts with `heading`, up to the next heading.
fn readme_section(heading: &str) -> String {
    let readme = workspace_file("README.md");
    let start = readme.find(heading).unwrap_or_else(|| panic!("README has `{heading}`"));
    let rest = &readme[start + heading.len()..];
    rest[..rest.find("\n## ").unwrap_or(rest.len())].to_string()
}

#[test]
fn kernel_names_in_the_readme_are_generated_for_the_main_example() {
    let code = gradc_compiler::try_expand(digits_declaration()).expect("the example compiles");
    let code = prettyplease::unparse(&syn::parse2(code).expect("generated code parses"));
    let section = readme_section("## Reading what the compiler made");
    let paragraphs: Vec<String> =
        section.split("\n\n").map(|p| p.split_whitespace().collect::<Vec<_>>().join(" ")).collect();
    let sentence = paragraphs.iter().find(|p| p.contains("named kernel function")).expect("the kernel paragraph");
    let names: Vec<&str> = sentence.split('`').skip(1).step_by(2).filter(|n| n.contains('_')).collect();
    assert!(names.len() >= 4, "the sentence cites kernel names: {names:?}");
    for name in names.iter().filter(|n| !n.contains(' ')) {
        assert!(code.contains(&format!("fn {name}(")), "README cites `{name}`, which `cargo expand` would not show");
    }
}

#[test]
fn the_readme_ir_excerpt_is_the_main_example_training_ir() {
    let compiled = gradc_compiler::compile(digits_declaration()).expect("the example compiles");
    let squeeze = |line: &str| line.split_whitespace().collect::<Vec<_>>().join(" ");
    let ir: Vec<String> = compiled.train.to_string().lines().map(squeeze).collect();
    let section = readme_section("## Reading what the compiler made");
    let excerpt = section.split("```text").nth(1).expect("an IR excerpt").split("```").next().unwrap();
    let lines: Vec<String> = excerpt.lines().map(squeeze).filter(|l| !l.is_empty() && l != "...").collect();
    assert!(lines.len() >= 5, "{lines:?}");
    for line in lines {
        assert!(ir.contains(&line), "README shows `{line}`, which is not in DigitNet::TRAIN_IR:\n{}", compiled.train);
    }
}

#[test]
fn every_network_the_readme_declares_compiles() {
    let readme = workspace_file("README.md");
    let blocks: Vec<&str> = readme.split("```rust").skip(1).map(|b| b.split("```").next().unwrap()).collect();
    let mut declarations = 0;
    for block in blocks {
        let Some(tokens) = declaration_in(block) else { continue };
        gradc_compiler::compile(tokens).unwrap_or_else(|e| panic!("README declaration does not compile: {e}\n{block}"));
        declarations += 1;
    }
    assert!(declarations >= 2, "the README declares networks");
}

/// The node count the README gives for the expansion-time network: `expansion_time`'s
/// 20 dense layers of 64, each followed by an activation.
#[test]
fn the_readme_node_count_of_the_expansion_network_is_true() {
    let section = readme_section("### Performance");
    let text = section.split_whitespace().collect::<Vec<_>>().join(" ");
    let claim = text.split("20 dense layers of 64 with activations, ").nth(1).expect("the expansion sentence");
    let stated: usize = claim.split(' ').next().unwrap().replace(',', "").parse().expect("a node count");
    let source = workspace_file("compiler/examples/expansion_time.rs");
    assert!(source.contains(r#"["relu", "tanh", "gelu", "prelu"][i % 4]"#), "the example's network is the one below");
    let mut items = vec!["input: [64]".to_string()];
    for i in 0..20 {
        items.push(format!("fc{i}: dense(64)"));
        items.push(format!("act{i}: {}", ["relu", "tanh", "gelu", "prelu"][i % 4]));
    }
    items.extend(["out: dense(10)", "loss: softmax_cross_entropy", "optimizer: sgd(lr = 0.01)"].map(String::from));
    let declaration = format!("struct Deep {{ {} }}", items.join(", "));
    let compiled = gradc_compiler::compile(declaration.parse().unwrap()).expect("compiles");
    assert_eq!(stated, compiled.train.len(), "README states {stated} training-graph nodes");
}
