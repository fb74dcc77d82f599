//! One kernel function per scheduled node: its signature, its body (calls of the runtime's
//! primitive kernels, with sizes from the node's shapes) and the statement that calls it.
//!
//! This file knows how to *compute* each op; it knows nothing of gradients. Backward code is
//! ordinary nodes that autodiff built, so it is emitted by the same arms as forward code.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::names::{ident, param_const};
use crate::ir::{Activation, Binary, Broadcast, DType, Dim, Graph, NodeId, Op, Shape, Unary, UpdateRule, broadcast};

/// A float literal of the graph's type; negative values are emitted as a negation.
pub fn float(value: f64, dtype: DType) -> TokenStream {
    let lit = match dtype {
        DType::F32 => proc_macro2::Literal::f32_suffixed(value.abs() as f32),
        DType::F64 => proc_macro2::Literal::f64_suffixed(value.abs()),
    };
    if value < 0.0 { quote!((-#lit)) } else { quote!(#lit) }
}

/// The Rust type of the graph's floats.
pub fn float_type(dtype: DType) -> TokenStream {
    match dtype {
        DType::F32 => quote!(f32),
        DType::F64 => quote!(f64),
    }
}

/// An unsuffixed integer literal (`128`, not `128usize`).
pub fn usize_lit(n: usize) -> proc_macro2::Literal {
    proc_macro2::Literal::usize_unsuffixed(n)
}

/// Tokens for a dimension, and whether they read the run-time batch size.
fn dim(d: Dim) -> (TokenStream, bool) {
    match d {
        Dim::Batch => (quote!(batch), true),
        Dim::Fixed(n) => {
            let n = usize_lit(n);
            (quote!(#n), false)
        }
    }
}

fn matrix(shape: &Shape, transposed: bool) -> (Dim, Dim) {
    let (r, c) = (shape.0[0], shape.0[1]);
    if transposed { (c, r) } else { (r, c) }
}

/// How an operand reaches a kernel.
enum Operand {
    /// A slice parameter with this name.
    Slice(proc_macro2::Ident),
    /// A constant, folded into the kernel body.
    Value(TokenStream, bool),
}

/// A node's kernel: the function item and the statement that calls it.
pub struct Kernel {
    /// `fn fc1_matmul(..) { .. }`
    pub item: TokenStream,
    /// `fc1_matmul(batch, x, params.value(FC1_WEIGHT), &mut buffers.fc1_matmul);`
    pub call: TokenStream,
    /// Whether the call passes the run-time batch size.
    pub uses_batch: bool,
    /// Whether the call passes the network's random generator.
    pub uses_rng: bool,
}

/// Parameter names for a node's operands, by op role.
fn operand_names(op: &Op) -> &'static [&'static str] {
    match op {
        Op::MatMul { .. } | Op::Binary(_) => &["a", "b"],
        Op::Unary(_) | Op::SumRows | Op::SumAll => &["x"],
        Op::Softmax => &["z"],
        Op::SoftmaxVjp => &["p", "dp"],
        Op::OneHot { .. } => &["labels"],
        Op::CrossEntropy | Op::CrossEntropyGrad => &["p", "labels"],
        Op::SoftmaxCrossEntropy => &["logits", "labels"],
        Op::BinaryCrossEntropy | Op::BinaryCrossEntropyGrad => &["s", "targets"],
        Op::BinaryCrossEntropyWithLogits => &["logits", "targets"],
        Op::MeanSquaredError => &["prediction", "targets"],
        Op::Update { .. } => &["param", "grad", "scale"],
        Op::RunningUpdate { .. } => &["param", "stat"],
        Op::CountBatch => &["param"],
        Op::BroadcastRows | Op::FirstRow | Op::SumSquares | Op::SumAbs => &["x"],
        Op::ScaleRows => &["w", "scale"],
        _ => &[],
    }
}

/// The argument expression that passes `operand` to a kernel at the call site.
fn argument(graph: &Graph, operand: NodeId, buffers: &std::collections::BTreeMap<NodeId, String>) -> TokenStream {
    match graph.op(operand) {
        Op::Input => quote!(x),
        Op::Labels => quote!(labels),
        Op::Targets => quote!(targets),
        Op::Param { name, .. } => {
            let index = param_const(name);
            quote!(params.value(#index))
        }
        _ => {
            let field = ident(&buffers[&operand]);
            quote!(&buffers.#field)
        }
    }
}

/// The elementwise function of a unary op, as a closure or path.
fn unary_fn(op: Unary, dtype: DType) -> TokenStream {
    let scalar = quote!(::gradc::__private::scalar);
    let with_alpha = |f: &str, alpha: f64| {
        let f = ident(f);
        let alpha = float(alpha, dtype);
        quote!(|v| #scalar::#f(v, #alpha))
    };
    match op {
        Unary::Neg => quote!(|v| -v),
        Unary::Sign => quote!(#scalar::sign),
        Unary::RsqrtGradFromOutput => quote!(#scalar::rsqrt_grad_from_output),
        Unary::Rsqrt { eps } => {
            let eps = float(eps, dtype);
            quote!(|v| #scalar::rsqrt(v, #eps))
        }
        Unary::NegativePart => quote!(#scalar::negative_part),
        Unary::Act(Activation::LeakyRelu { alpha }) => with_alpha("leaky_relu", alpha),
        Unary::Act(Activation::Elu { alpha }) => with_alpha("elu", alpha),
        Unary::ActGrad(Activation::LeakyRelu { alpha }) => with_alpha("leaky_relu_grad", alpha),
        Unary::ActGrad(Activation::Elu { alpha }) => with_alpha("elu_grad", alpha),
        Unary::Act(a) => {
            let f = ident(a.ident());
            quote!(#scalar::#f)
        }
        Unary::ActGrad(a) => {
            let f = if a.grad_from_output() {
                format_ident!("{}_grad_from_output", a.ident())
            } else {
                format_ident!("{}_grad", a.ident())
            };
            quote!(#scalar::#f)
        }
    }
}

fn binary_fn(op: Binary) -> TokenStream {
    let scalar = quote!(::gradc::__private::scalar);
    match op {
        Binary::Add => quote!(|a, b| a + b),
        Binary::Sub => quote!(|a, b| a - b),
        Binary::Mul => quote!(|a, b| a * b),
        Binary::Prelu => quote!(#scalar::prelu),
        Binary::PreluGradInput => quote!(#scalar::prelu_grad_input),
    }
}

/// Builds the kernel of node `n`, named `name`, documented with `doc` (its IR line).
pub fn kernel(
    graph: &Graph,
    n: NodeId,
    name: &str,
    doc: &str,
    buffers: &std::collections::BTreeMap<NodeId, String>,
) -> Kernel {
    let dtype = graph.dtype;
    let t = float_type(dtype);
    let node = graph.node(n);
    let operands = graph.operands(n);
    let roles = operand_names(&node.op);
    let k = quote!(::gradc::__private::kernels);

    // Operands: slices become parameters, constants are folded into the body.
    let mut params = Vec::new();
    let mut args = Vec::new();
    let mut inputs = Vec::new();
    for (i, &o) in operands.iter().enumerate() {
        if let Op::Const(c) = graph.op(o) {
            let v = float(c.value, dtype);
            inputs.push(if c.per_batch {
                Operand::Value(quote!(#v / batch as #t), true)
            } else {
                Operand::Value(v, false)
            });
            continue;
        }
        let role = ident(&roles.get(i).map_or_else(|| format!("operand{i}"), |r| r.to_string()));
        let elem = if graph.op(o).is_index() { quote!(usize) } else { t.clone() };
        params.push(quote!(#role: &[#elem]));
        let arg = argument(graph, o, buffers);
        // The clip norm counts only gradients of parameters that are trainable now.
        let grad_of = graph.outputs().find_map(|(out, g)| match out {
            crate::ir::Output::Grad(name) if g == o => Some(param_const(name)),
            _ => None,
        });
        args.push(match (&node.op, grad_of) {
            (Op::ClipScale { .. }, Some(index)) => quote!(if params.is_trainable(#index) { #arg } else { &[] }),
            _ => arg,
        });
        inputs.push(Operand::Slice(role));
    }
    let slice = |i: usize| match &inputs[i] {
        Operand::Slice(s) => quote!(#s),
        Operand::Value(..) => unreachable!("constant operand where a buffer is required"),
    };
    // The element of a one-element operand (a constant, or a `[]`/`[1]` buffer).
    let scalar_of = |i: usize| match &inputs[i] {
        Operand::Slice(s) => (quote!(#s[0]), false),
        Operand::Value(v, per_batch) => (v.clone(), *per_batch),
    };

    let mut uses_batch = false;
    let body = match &node.op {
        Op::MatMul { transpose_a, transpose_b } => {
            let (m, kk) = matrix(graph.shape(operands[0]), *transpose_a);
            let (_, nn) = matrix(graph.shape(operands[1]), *transpose_b);
            let ((m, b1), (kk, b2), (nn, b3)) = (dim(m), dim(kk), dim(nn));
            uses_batch = b1 || b2 || b3;
            let (a, b) = (slice(0), slice(1));
            quote!(#k::matmul(#m, #kk, #nn, #a, #transpose_a, #b, #transpose_b, out);)
        }
        Op::SumRows => {
            let cols = usize_lit(graph.shape(n).fixed_numel());
            let x = slice(0);
            quote!(#k::sum_rows(#cols, #x, out);)
        }
        Op::SumAll => {
            let x = slice(0);
            quote!(#k::sum_all(#x, out);)
        }
        Op::Unary(u) => {
            let f = unary_fn(*u, dtype);
            let x = slice(0);
            quote!(#k::map(#x, out, #f);)
        }
        Op::Binary(b) => {
            let f = binary_fn(*b);
            let a = slice(0);
            let constant = matches!(graph.op(operands[1]), Op::Const(_));
            match broadcast(graph.shape(operands[0]), graph.shape(operands[1])).expect("verified shapes") {
                // A constant is folded into the kernel whatever its shape says.
                _ if constant => {
                    let (s, per_batch) = scalar_of(1);
                    uses_batch = per_batch;
                    quote!(#k::zip_scalar(#a, #s, out, #f);)
                }
                Broadcast::Same => {
                    let b = slice(1);
                    quote!(#k::zip(#a, #b, out, #f);)
                }
                Broadcast::Row => {
                    let b = slice(1);
                    quote!(#k::zip_row(#a, #b, out, #f);)
                }
                Broadcast::Scalar => {
                    let (s, per_batch) = scalar_of(1);
                    uses_batch = per_batch;
                    quote!(#k::zip_scalar(#a, #s, out, #f);)
                }
            }
        }
        Op::Softmax | Op::SoftmaxVjp => {
            let cols = usize_lit(graph.shape(n).fixed_numel());
            let kernel = if node.op == Op::Softmax { quote!(softmax_rows) } else { quote!(softmax_vjp_rows) };
            let operands = (0..operands.len()).map(slice);
            quote!(#k::#kernel(#cols, #(#operands,)* out);)
        }
        Op::OneHot { classes } => {
            let (classes, labels) = (usize_lit(*classes), slice(0));
            quote!(#k::one_hot(#classes, #labels, out);)
        }
        Op::CrossEntropy | Op::CrossEntropyGrad | Op::SoftmaxCrossEntropy => {
            let cols = usize_lit(graph.shape(operands[0]).fixed_numel());
            let f = ident(&node.op.ident());
            let (p, labels) = (slice(0), slice(1));
            quote!(#k::#f(#cols, #p, #labels, out);)
        }
        Op::BinaryCrossEntropy
        | Op::BinaryCrossEntropyGrad
        | Op::BinaryCrossEntropyWithLogits
        | Op::MeanSquaredError => {
            let f = ident(&node.op.ident());
            let (p, t) = (slice(0), slice(1));
            quote!(#k::#f(#p, #t, out);)
        }
        Op::BroadcastRows => {
            let x = slice(0);
            quote!(#k::broadcast_rows(#x, out);)
        }
        Op::FirstRow => {
            let x = slice(0);
            quote!(out.copy_from_slice(&#x[..out.len()]);)
        }
        Op::ScaleRows => {
            let (w, v) = (slice(0), slice(1));
            quote!(#k::scale_rows(#w, #v, out);)
        }
        Op::SumSquares | Op::SumAbs => {
            let f = ident(&node.op.ident());
            let x = slice(0);
            quote!(#k::#f(#x, out);)
        }
        Op::DropoutMask { p } => {
            let p = float(*p, dtype);
            quote!(#k::dropout_mask(rng, #p, out);)
        }
        Op::RunningUpdate { momentum, unbiased } => {
            let stat = slice(1);
            let m = float(*momentum, dtype);
            if *unbiased {
                uses_batch = true;
                quote!(#k::running_update(param, #stat, #m, batch as #t / (batch - 1) as #t);)
            } else {
                quote!(#k::running_update(param, #stat, #m, 1.0);)
            }
        }
        Op::CountBatch => quote!(param[0] += 1.0;),
        Op::Update { rule, clipped } => {
            let grad = slice(1);
            let scale = if *clipped {
                let s = slice(2);
                quote!(#s[0])
            } else {
                quote!(1.0)
            };
            let f = |v: f64| float(v, dtype);
            match *rule {
                UpdateRule::Sgd => quote!(#k::sgd_update(param, #grad, #scale, lr);),
                UpdateRule::Momentum { beta, nesterov } => {
                    let beta = f(beta);
                    quote!(#k::momentum_update(param, #grad, #scale, state, lr, #beta, #nesterov);)
                }
                UpdateRule::RmsProp { beta, eps, eps_inside } => {
                    let (beta, eps) = (f(beta), f(eps));
                    quote!(#k::rmsprop_update(param, #grad, #scale, state, lr, #beta, #eps, #eps_inside);)
                }
                UpdateRule::Adam { beta1, beta2, eps, weight_decay } => {
                    let (b1, b2, eps, wd) = (f(beta1), f(beta2), f(eps), f(weight_decay.unwrap_or(0.0)));
                    quote!(#k::adam_update(param, #grad, #scale, state, lr, #b1, #b2, #eps, #wd, step);)
                }
            }
        }
        Op::ClipScale { max_norm, .. } => {
            let max_norm = float(*max_norm, dtype);
            let grads = (0..operands.len()).map(slice);
            quote!(#k::clip_scale(&[#(#grads),*], #max_norm, out);)
        }
        Op::Input | Op::Labels | Op::Targets | Op::Param { .. } | Op::Const(_) => {
            unreachable!("leaves have no kernel")
        }
    };

    let fn_name = ident(name);
    let doc = format!(" `{doc}`");
    let batch_param = uses_batch.then(|| quote!(batch: usize,));
    let batch_arg = uses_batch.then(|| quote!(batch,));
    if node.op.has_side_effect() {
        // A side effect writes its first operand, a parameter, in place.
        let param = match graph.op(operands[0]) {
            Op::Param { name, .. } => param_const(name),
            _ => unreachable!("verified: side effects write parameters"),
        };
        let (rest_params, rest_args) = (&params[1..], &args[1..]);
        let (lr_param, lr_arg) = match &node.op {
            Op::Update { rule: UpdateRule::Sgd, .. } => (quote!(lr: #t,), quote!(lr,)),
            Op::Update { rule: UpdateRule::Adam { .. }, .. } => (
                quote!(state: &mut [::std::vec::Vec<#t>], lr: #t, step: u64,),
                quote!(state.slots_mut(#param), lr, step,),
            ),
            Op::Update { .. } => {
                (quote!(state: &mut [::std::vec::Vec<#t>], lr: #t,), quote!(state.slots_mut(#param), lr,))
            }
            _ => (quote!(), quote!()),
        };
        let item = quote! {
            #[doc = #doc]
            #[inline]
            fn #fn_name(#batch_param param: &mut [#t], #(#rest_params,)* #lr_param) {
                #body
            }
        };
        let invoke = quote!(#fn_name(#batch_arg params.value_mut(#param), #(#rest_args,)* #lr_arg););
        // Optimizer updates skip parameters the user made non-trainable; statistics do not.
        let call =
            if node.op.is_optimizer_update() { quote!(if params.is_trainable(#param) { #invoke }) } else { invoke };
        return Kernel { item, call, uses_batch, uses_rng: false };
    }
    if node.op.is_random() {
        let field = ident(name);
        let item = quote! {
            #[doc = #doc]
            #[inline]
            fn #fn_name(rng: &mut ::gradc::__private::Rng, out: &mut [#t]) {
                #body
            }
        };
        let call = quote!(#fn_name(rng, &mut buffers.#field););
        return Kernel { item, call, uses_batch: false, uses_rng: true };
    }
    let field = ident(name);
    let item = quote! {
        #[doc = #doc]
        #[inline]
        fn #fn_name(#batch_param #(#params,)* out: &mut [#t]) {
            #body
        }
    };
    let call = quote!(#fn_name(#batch_arg #(#args,)* &mut buffers.#field););
    Kernel { item, call, uses_batch, uses_rng: false }
}
