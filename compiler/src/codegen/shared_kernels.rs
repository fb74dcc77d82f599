//! Kernels that compute the same thing on different buffers: the layers of a repeated block
//! (W3's twenty dense → batch norm → relu) get one function each kernel of the first layer,
//! and every later layer's kernel is a documented `use` of it. The expansion shrinks with
//! the depth of such networks, and so does what rustc and LLVM compile.
//!
//! Kernels are matched by what their code is made from ([`kernel_key`]): the operations of
//! their nodes with shapes and attributes, how the nodes feed each other, which of them are
//! stored, and the kind, shape and element type of each outside operand, with names left
//! out. The key is built before the kernel: a fused kernel whose key was seen is never built,
//! only its call, so sharing also saves the expansion the time of building it. The
//! compiler's own tests still build it and check the key against the tokens: two kernels
//! with one key must have the same items, token for token after the function's name, up to
//! the names they bind themselves (parameters, `let`, `for` and closure bindings, numbered in
//! order of first binding).

use std::collections::{BTreeSet, HashMap};

#[cfg(test)]
use proc_macro2::{Delimiter, Spacing, TokenTree};
use proc_macro2::{Ident, TokenStream};
use quote::quote;

use crate::ir::{DType, Graph, NodeId, Op, Shape};

/// What a kernel's code is made from, names left out: compared whole, so two kernels share
/// only when everything their code depends on is equal.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KernelKey {
    dtype: DType,
    members: Vec<Member>,
    outside: Vec<Outside>,
}

/// A node of the kernel.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Member {
    op: Op,
    shape: Shape,
    stored: bool,
    /// A max pool whose gradient is taken also saves the positions of its maxima.
    saves_argmax: bool,
    operands: Vec<Operand>,
}

/// Where a member's operand comes from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Operand {
    /// An earlier member, by position.
    Member(usize),
    /// A value from outside the kernel, by order of first use.
    Outside(usize),
}

/// A value the kernel reads from outside.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Outside {
    kind: OutsideKind,
    shape: Shape,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum OutsideKind {
    Param,
    Training,
    /// The input, or a constant (by value).
    Leaf(Op),
    /// A buffer of another node; whether it holds indices (labels).
    Buffer {
        index: bool,
    },
}

/// The key of a kernel of `members` (in schedule order; one for an unfused node), `stored`
/// being those it writes to buffers.
pub fn kernel_key(graph: &Graph, members: &[NodeId], stored: &BTreeSet<NodeId>) -> KernelKey {
    let mut outside: Vec<NodeId> = Vec::new();
    let members_key = members
        .iter()
        .map(|&m| {
            let node = graph.node(m);
            let saves_argmax = matches!(node.op, Op::MaxPool2d(_))
                && graph.users(m).iter().any(|&u| matches!(graph.op(u), Op::MaxPool2dGrad(_)));
            let operands = graph
                .operands(m)
                .into_iter()
                .map(|o| match members.iter().position(|&x| x == o) {
                    Some(member) => Operand::Member(member),
                    None => Operand::Outside(outside.iter().position(|&x| x == o).unwrap_or_else(|| {
                        outside.push(o);
                        outside.len() - 1
                    })),
                })
                .collect();
            Member {
                op: node.op.clone(),
                shape: node.shape.clone(),
                stored: stored.contains(&m),
                saves_argmax,
                operands,
            }
        })
        .collect();
    let outside = outside
        .iter()
        .map(|&o| {
            let node = graph.node(o);
            let kind = match &node.op {
                Op::Param { .. } => OutsideKind::Param,
                Op::LayerTraining { .. } => OutsideKind::Training,
                op @ (Op::Input | Op::Const(_)) => OutsideKind::Leaf(op.clone()),
                op => OutsideKind::Buffer { index: op.is_index() },
            };
            Outside { kind, shape: node.shape.clone() }
        })
        .collect();
    KernelKey { dtype: graph.dtype, members: members_key, outside }
}

/// The first kernel emitted with a key: its name and what its call passes besides buffers.
#[derive(Clone)]
pub struct First {
    /// The function's name.
    pub name: Ident,
    /// Whether it takes the batch size.
    pub uses_batch: bool,
}

/// The kernels of one graph module seen so far, by their key.
#[derive(Default)]
pub struct SharedKernels {
    first: HashMap<KernelKey, First>,
    /// The first kernel's token key, by kernel key, for the check in tests.
    #[cfg(test)]
    tokens: HashMap<KernelKey, String>,
}

impl SharedKernels {
    /// The kernel emitted earlier with `key`, if any.
    pub fn earlier(&self, key: &KernelKey) -> Option<&First> {
        self.first.get(key)
    }

    /// Records the kernel `name` (its `item` and whether its call passes the batch size) as
    /// the first with `key`.
    pub fn record(&mut self, key: KernelKey, name: Ident, item: &TokenStream, uses_batch: bool) {
        #[cfg(test)]
        self.tokens.insert(key.clone(), token_key(item));
        let _ = item;
        self.first.insert(key, First { name, uses_batch });
    }

    /// In the compiler's tests: asserts that `item`, the kernel a later node would have had,
    /// is the first kernel with `key` up to the names it binds.
    #[cfg(test)]
    pub fn check(&self, key: &KernelKey, item: &TokenStream) {
        assert_eq!(self.tokens[key], token_key(item), "kernels with one key differ:\n{key:?}");
    }
}

/// A kernel that is the code of `first`: a `use` of it under its own `name`, documented with
/// its own IR lines and the kernel it shares, in one doc attribute (as a fused kernel's).
pub fn alias(first: &Ident, name: &Ident, lines: &[&str]) -> TokenStream {
    let mut doc = String::new();
    for line in lines {
        doc.push_str(" `");
        doc.push_str(line);
        doc.push_str("`\n");
    }
    doc.push_str(&format!("\n The same code as `{first}`, called with this kernel's buffers."));
    quote! {
        #[doc = #doc]
        use self::#first as #name;
    }
}

/// The item after the function's name as text, the names it binds numbered: what two
/// kernels with one [`kernel_key`] must share (checked in the compiler's tests).
#[cfg(test)]
fn token_key(item: &TokenStream) -> String {
    let tokens: Vec<TokenTree> = item.clone().into_iter().collect();
    let fn_at = tokens.iter().position(|t| matches!(t, TokenTree::Ident(i) if i == "fn")).expect("a function");
    // One walk of the trees into a flat list; the analysis and the key read that.
    let mut flat = Vec::new();
    for tree in &tokens[fn_at + 2..] {
        flatten(tree, &mut flat);
    }
    let bound = bound_names(&flat);
    let mut key = String::with_capacity(flat.len() * 4);
    for (i, token) in flat.iter().enumerate() {
        match token {
            Token::Ident(name) => {
                // A field, method or path segment (`x.len`, `k::relu`; not a range's end).
                let joint_before = |p: usize, c: char| p > 0 && flat[p - 1] == Token::Punct(c, Spacing::Joint);
                let after_dot_or_path = i.checked_sub(1).is_some_and(|p| {
                    flat[p] == Token::Punct('.', Spacing::Alone) && !joint_before(p, '.')
                        || flat[p] == Token::Punct(':', Spacing::Alone) && joint_before(p, ':')
                });
                match bound.iter().position(|b| b == name) {
                    Some(number) if !after_dot_or_path => {
                        key.push('$');
                        key.push_str(&number.to_string());
                    }
                    _ => key.push_str(name),
                }
            }
            Token::Punct(c, _) => key.push(*c),
            Token::Literal(text) => key.push_str(text),
            Token::Open(c) | Token::Close(c) => key.push(*c),
        }
        key.push(' ');
    }
    key
}

#[cfg(test)]
/// A token of a flattened tree: groups become their delimiters around their contents.
#[derive(PartialEq)]
enum Token {
    Ident(String),
    Punct(char, Spacing),
    Literal(String),
    Open(char),
    Close(char),
}

#[cfg(test)]
fn flatten(tree: &TokenTree, flat: &mut Vec<Token>) {
    match tree {
        TokenTree::Ident(i) => flat.push(Token::Ident(i.to_string())),
        TokenTree::Punct(p) => flat.push(Token::Punct(p.as_char(), p.spacing())),
        TokenTree::Literal(l) => flat.push(Token::Literal(l.to_string())),
        TokenTree::Group(g) => {
            let (open, close) = match g.delimiter() {
                Delimiter::Parenthesis => ('(', ')'),
                Delimiter::Brace => ('{', '}'),
                Delimiter::Bracket => ('[', ']'),
                Delimiter::None => ('«', '»'),
            };
            flat.push(Token::Open(open));
            for tree in g.stream() {
                flatten(&tree, flat);
            }
            flat.push(Token::Close(close));
        }
    }
}

#[cfg(test)]
/// The names the item binds, in order of first binding: the parameters (idents followed by
/// a lone `:` directly inside the signature's parentheses), and the names of `let` and
/// `for` patterns and closure heads anywhere.
fn bound_names(flat: &[Token]) -> Vec<String> {
    let mut bound: Vec<String> = Vec::new();
    let mut bind = |name: &str| {
        if !bound.iter().any(|b| b == name) {
            bound.push(name.to_string());
        }
    };
    let ident = |i: usize| match flat.get(i) {
        Some(Token::Ident(name)) => Some(name.as_str()),
        _ => None,
    };
    let lone = |i: usize, c: char| flat.get(i) == Some(&Token::Punct(c, Spacing::Alone));
    let punct = |i: usize, c: char| matches!(flat.get(i), Some(Token::Punct(p, _)) if *p == c);
    // The signature: its parentheses are the first group.
    if flat.first() == Some(&Token::Open('(')) {
        let mut depth = 0;
        for (i, token) in flat.iter().enumerate() {
            match token {
                Token::Open(_) => depth += 1,
                Token::Close(_) => depth -= 1,
                Token::Ident(name) if depth == 1 && lone(i + 1, ':') => bind(name),
                _ => {}
            }
            if depth == 0 {
                break;
            }
        }
    }
    let mut i = 0;
    while i < flat.len() {
        match ident(i) {
            Some(word @ ("let" | "for")) => {
                // The pattern: up to `=` or a type for `let`, up to `in` for `for`.
                let is_let = word == "let";
                i += 1;
                while i < flat.len()
                    && !(is_let && (punct(i, '=') || lone(i, ':')) || !is_let && ident(i) == Some("in"))
                {
                    let path = matches!(flat.get(i + 1), Some(Token::Punct(':', Spacing::Joint)));
                    if let Some(name) = ident(i).filter(|n| !matches!(*n, "mut" | "ref") && !path) {
                        bind(name);
                    }
                    i += 1;
                }
            }
            _ if lone(i, '|') && opens_closure(flat, i) => {
                i += 1;
                let mut binds_next = true;
                while i < flat.len() && !punct(i, '|') {
                    match &flat[i] {
                        Token::Ident(name) if name == "mut" => binds_next = true,
                        Token::Ident(name) if binds_next => {
                            bind(name);
                            binds_next = false;
                        }
                        Token::Open(_) | Token::Punct(',', _) => binds_next = true,
                        _ => binds_next = false,
                    }
                    i += 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    bound
}

#[cfg(test)]
/// Whether the lone `|` at `i` starts a closure's parameters, not an `or`.
fn opens_closure(flat: &[Token], i: usize) -> bool {
    match i.checked_sub(1).map(|p| &flat[p]) {
        None | Some(Token::Open(_)) => true,
        Some(Token::Ident(word)) => word == "move",
        Some(Token::Punct(p, _)) => matches!(p, '&' | '=' | ',' | ';'),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use proc_macro2::Span;

    use super::*;

    fn key(item: TokenStream) -> String {
        token_key(&item)
    }

    #[test]
    fn kernels_that_differ_only_in_their_own_names_share_a_key() {
        let a = key(quote! {
            #[doc = " %1"] #[inline]
            fn fc1_forward(act0: &[f32], out: &mut [f32]) {
                let col4 = act0[0];
                for (o, &v) in out.iter_mut().zip(act0) { *o = v * col4; }
                split::columns(1, 2, &mut [], &|cols, stripes| { let _ = (cols, stripes); });
            }
        });
        let b = key(quote! {
            #[doc = " %9"]
            fn fc2_forward(act1: &[f32], out: &mut [f32]) {
                let col12 = act1[0];
                for (o, &v) in out.iter_mut().zip(act1) { *o = v * col12; }
                split::columns(1, 2, &mut [], &|cols, stripes| { let _ = (cols, stripes); });
            }
        });
        assert_eq!(a, b);
    }

    #[test]
    fn different_operations_paths_or_constants_do_not() {
        let base = key(quote!(
            fn f(x: &[f32], out: &mut [f32]) {
                k::relu(x, out);
            }
        ));
        for other in [
            quote!(
                fn g(x: &[f32], out: &mut [f32]) {
                    k::tanh(x, out);
                }
            ),
            quote!(
                fn g(x: &[f64], out: &mut [f64]) {
                    k::relu(x, out);
                }
            ),
            quote!(
                fn g(x: &[f32], out: &mut [f32]) {
                    k::relu(out, x);
                }
            ),
            quote!(
                fn g(x: &[f32], out: &mut [f32]) {
                    k::relu(x, out);
                    k::relu(x, out);
                }
            ),
        ] {
            assert_ne!(base, key(other));
        }
        // A bound name used as a method or path segment stays as written.
        let relu_param = key(quote!(
            fn f(relu: &[f32], out: &mut [f32]) {
                k::relu(relu, out);
            }
        ));
        let tanh_param = key(quote!(
            fn f(tanh: &[f32], out: &mut [f32]) {
                k::tanh(tanh, out);
            }
        ));
        assert_ne!(relu_param, tanh_param);
        let a = key(quote!(
            fn f(x: &[f32]) -> f32 {
                x.iter().sum()
            }
        ));
        let b = key(quote!(
            fn f(x: &[f32]) -> f32 {
                x.iter().product()
            }
        ));
        assert_ne!(a, b);
        let c = key(quote!(
            fn f(x: &[f32]) -> f32 {
                x[0] * 2.0
            }
        ));
        let d = key(quote!(
            fn f(x: &[f32]) -> f32 {
                x[0] * 3.0
            }
        ));
        assert_ne!(c, d);
    }

    #[test]
    fn a_repeated_kernel_is_a_documented_use_of_the_first() {
        let mut shared = SharedKernels::default();
        let first = quote!(
            fn a(x: &[f32], out: &mut [f32]) {
                k::relu(x, out);
            }
        );
        let key = |dtype| KernelKey { dtype, members: vec![], outside: vec![] };
        assert!(shared.earlier(&key(DType::F32)).is_none());
        shared.record(key(DType::F32), Ident::new("a", Span::call_site()), &first, true);
        let earlier = shared.earlier(&key(DType::F32)).expect("recorded");
        assert!(earlier.name == "a" && earlier.uses_batch);
        assert!(shared.earlier(&key(DType::F64)).is_none());
        let text = alias(&earlier.name, &Ident::new("b", Span::call_site()), &["%7 = relu %6"]).to_string();
        assert!(text.contains("use self :: a as b"), "{text}");
        assert!(text.contains("%7 = relu %6") && text.contains("The same code as `a`"), "{text}");
    }

    /// Networks whose layers repeat with and without differences that must keep kernels
    /// apart (attributes, widths, shapes, frozen layers, penalties, learning-rate scales):
    /// expanding them runs the check in `SharedKernels::check` on every kernel with a key
    /// seen before (in tests the kernel is still built), and some must have shared.
    #[test]
    fn kernels_with_one_key_have_one_item() {
        let networks = [
            "struct A { input: [16], fc0: dense(16), bn0: batch_norm, act0: relu, fc1: dense(16), bn1: batch_norm, \
             act1: relu, fc2: dense(16), bn2: batch_norm, act2: relu, out: dense(3), loss: softmax_cross_entropy, \
             optimizer: adam(lr = 1e-3) }",
            "struct B { input: [8], a: dense(8), leaky_relu(alpha = 0.1), b: dense(8), leaky_relu(alpha = 0.2), \
             #[frozen] c: dense(8), elu, #[lr_scale = 0.5] d: dense(8, l2 = 0.1), elu, e: dense(8, l1 = 0.2), selu, \
             f: dense(8, bias = false), prelu(per_unit = true), g: dense(8), prelu, dropout(0.5), h: dense(8), \
             dropout(0.25), out: dense(1), loss: binary_cross_entropy, optimizer: momentum(lr = 0.1, clip_norm = 1), \
             regularize: l2(1e-3), dtype: f64 }",
            "struct C { input: [2, 8, 8], c0: conv2d(4, 3, padding = same), b0: batch_norm, relu, \
             c1: conv2d(4, 3, padding = same), b1: batch_norm, relu, c2: conv2d(4, 3, padding = 1), b2: batch_norm, \
             relu, max_pool2d(2), c3: conv2d(4, 3, padding = same, bias = false), relu, c4: conv2d(4, 1), relu, \
             avg_pool2d(2), global_avg_pool, out: dense(3), loss: softmax_cross_entropy, optimizer: rmsprop }",
            "struct D { input: [8], stem: dense(8), blocks: repeat(4) { residual { fc: dense(8), bn: batch_norm, \
             act: relu } }, down: residual(project = dense) { dense(4), tanh }, out: dense(2), loss: mse, \
             optimizer: nesterov(lr = 0.01) }",
            "struct E { input: [6], blocks: repeat(3) { fc: dense(6), act: gelu(approximate = tanh) }, \
             more: repeat(2) { fc: dense(6), act: gelu }, out: dense(2), loss: mse, optimizer: adamw(lr = 1e-3), \
             fusion: false }",
        ];
        for source in networks {
            let tokens: TokenStream = source.parse().expect("tokens");
            let expanded = crate::try_expand(tokens).expect("the network compiles").to_string();
            assert!(expanded.contains("use self ::"), "some kernels shared in {source}");
        }
    }
}
