//! The error display of `show_ir`: each mistake at its line and column, with a caret under it.

#[path = "../examples/common/render.rs"]
mod render;

#[test]
fn errors_show_line_column_and_caret() {
    let src = "struct N {\n    input: [4],\n    dens(3),\n    loss: mse, optimizer: sgd(lr = 0.1)\n}\n";
    let Err(error) = gradc_compiler::compile(src.parse().unwrap()) else { panic!("the declaration has a mistake") };
    let text = render::errors(src, error);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("error: unknown layer `dens` (did you mean `dense`?)"), "{text}");
    assert_eq!(lines[1], " --> line 3, column 5");
    assert_eq!(lines[3], "3 |     dens(3),");
    assert_eq!(lines[4], "  |     ^^^^");
}
