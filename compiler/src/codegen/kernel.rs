//! One kernel function per scheduled node: its signature, its body (calls of the runtime's
//! primitive kernels, with sizes from the node's shapes) and the statement that calls it.
//!
//! This file knows how to *compute* each op; it knows nothing of gradients. Backward code is
//! ordinary nodes that autodiff built, so it is emitted by the same arms as forward code.

use proc_macro2::TokenStream;
use quote::quote;

use super::names::{Names, ident, param_const};
use super::scalar;
use crate::ir::{Broadcast, DType, Dim, Graph, Mode, NodeId, Op, Shape, UpdateRule, Window, broadcast};
use crate::vocab::Value;

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
    /// A buffer of the kernel's own besides its result (convolution columns, max-pool
    /// positions).
    pub scratch: Option<Scratch>,
}

/// A buffer a kernel keeps besides its result.
pub struct Scratch {
    /// The buffer field.
    pub field: proc_macro2::Ident,
    /// Elements per example.
    pub per_example: usize,
    /// What it holds.
    pub kind: ScratchKind,
}

/// What a [`Scratch`] buffer holds.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum ScratchKind {
    /// A convolution's im2col workspace (floats, reused by every convolution call).
    Columns,
    /// The position of each max-pool window's maximum in its input plane (`u32`), saved by
    /// the forward pool for its gradient.
    Argmax,
}

impl Scratch {
    /// The field's element type.
    pub fn element(&self, float: &TokenStream) -> TokenStream {
        match self.kind {
            ScratchKind::Columns => float.clone(),
            ScratchKind::Argmax => quote!(u32),
        }
    }

    /// The field's doc line.
    pub fn doc(&self) -> String {
        match self.kind {
            ScratchKind::Columns => format!(" The im2col workspace of `{}`.", self.field),
            ScratchKind::Argmax => {
                let pool = self.field.to_string();
                let pool = pool.strip_suffix("_argmax").unwrap_or(&pool);
                format!(" Where each window of `{pool}` found its maximum, for the gradient.")
            }
        }
    }
}

/// The field holding the positions a max pool saved for its gradient.
pub fn argmax_field(pool_buffer: &str) -> String {
    format!("{pool_buffer}_argmax")
}

/// Whether a gradient reads the positions `pool` (a max pool) saves.
fn saves_argmax(graph: &Graph, pool: NodeId) -> bool {
    graph.users(pool).iter().any(|&u| matches!(graph.op(u), Op::MaxPool2dGrad(_)))
}

/// The runtime's `conv::Window` literal for `w`.
pub(super) fn window(w: &Window) -> TokenStream {
    let Window { channels_in, channels_out, groups, height, width, kernel, stride, padding, dilation } = *w;
    let (ci, co, g, h, wd) =
        (usize_lit(channels_in), usize_lit(channels_out), usize_lit(groups), usize_lit(height), usize_lit(width));
    let pair = |v: [usize; 2]| {
        let [a, b] = v.map(usize_lit);
        quote!([#a, #b])
    };
    let (kernel, stride, dilation) = (pair(kernel), pair(stride), pair(dilation));
    let [t, l, b, r] = padding.map(usize_lit);
    quote!(&rt::conv::Window {
        channels_in: #ci, channels_out: #co, groups: #g, height: #h, width: #wd,
        kernel: #kernel, stride: #stride, padding: [#t, #l, #b, #r], dilation: #dilation,
    })
}

/// The workspace a convolution kernel needs per example (the runtime's
/// `Window::workspace_per_example`): one group's columns and outputs for the batch.
pub(super) fn columns_per_example(op: &Op) -> Option<usize> {
    match op {
        Op::Conv2d(w) | Op::Conv2dGradInput(w) | Op::Conv2dGradWeight(w) => {
            let taps = w.channels_in / w.groups * w.kernel[0] * w.kernel[1];
            Some((taps + w.channels_out / w.groups) * w.output()[0] * w.output()[1])
        }
        _ => None,
    }
}

/// Parameter names for a node's operands, by op role.
fn operand_names(op: &Op) -> &'static [&'static str] {
    match op {
        Op::MatMul { .. } | Op::Binary(_) => &["a", "b"],
        Op::Unary(_) | Op::Sum { .. } | Op::SumAll => &["x"],
        Op::Softmax => &["z"],
        Op::Conv2d(_) => &["x", "weight"],
        Op::Conv2dGradInput(_) => &["grad", "weight"],
        Op::Conv2dGradWeight(_) => &["x", "grad"],
        Op::MaxPool2dGrad(_) => &["argmax", "grad"],
        Op::MaxPool2d(_) | Op::AvgPool2d(_) | Op::Reshape { .. } => &["x"],
        Op::AvgPool2dGrad(_) => &["grad"],
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
        Op::Broadcast { .. } | Op::First { .. } | Op::SumSquares | Op::SumAbs => &["x"],
        Op::ScaleRows => &["w", "scale"],
        Op::ClipScale { .. } => &[],
        Op::Input
        | Op::Labels
        | Op::Targets
        | Op::Param { .. }
        | Op::Const(_)
        | Op::DropoutMask { .. }
        | Op::LayerTraining { .. } => &[],
    }
}

/// The argument expression that passes `operand` to a kernel at the call site.
fn argument(graph: &Graph, operand: NodeId, names: &Names) -> TokenStream {
    match graph.op(operand) {
        Op::Input => quote!(x),
        Op::Labels => quote!(labels),
        Op::Targets => quote!(targets),
        Op::Param { name, .. } => {
            let index = param_const(name);
            quote!(params.value(#index))
        }
        Op::LayerTraining { layer } => training_flag(graph, layer),
        _ => {
            let field = ident(names.buffer(operand));
            quote!(&buffers.#field)
        }
    }
}

/// The slice holding 1 while `layer` computes batch statistics, else 0: its run-time training
/// flag; in an inspection graph, that flag only when inspecting in training mode.
pub(super) fn training_flag(graph: &Graph, layer: &str) -> TokenStream {
    let index = training_flag_param(layer);
    match graph.mode {
        Mode::Inspection => quote!(if training { params.training_flag(#index) } else { &[0.0] }),
        Mode::Inference | Mode::Training | Mode::FineTuning => quote!(params.training_flag(#index)),
    }
}

/// The parameter whose run-time training flag is `layer`'s (a batch norm's running mean,
/// which every batch norm has).
pub(super) fn training_flag_param(layer: &str) -> proc_macro2::Ident {
    param_const(&format!("{layer}.running_mean"))
}

/// The runtime kernel computing `op` from its operands' slices into `out`, for the ops whose
/// kernels all take (operands.., out).
fn runtime_kernel(op: &Op) -> Option<TokenStream> {
    Some(match op {
        Op::CrossEntropy => quote!(cross_entropy),
        Op::CrossEntropyGrad => quote!(cross_entropy_grad),
        Op::SoftmaxCrossEntropy => quote!(softmax_cross_entropy),
        Op::BinaryCrossEntropy => quote!(binary_cross_entropy),
        Op::BinaryCrossEntropyGrad => quote!(binary_cross_entropy_grad),
        Op::BinaryCrossEntropyWithLogits => quote!(binary_cross_entropy_with_logits),
        Op::MeanSquaredError => quote!(mean_squared_error),
        Op::SumSquares => quote!(sum_squares),
        Op::SumAbs => quote!(sum_abs),
        Op::ScaleRows => quote!(scale_rows),
        Op::SumAll => quote!(sum_all),
        // Kernels with sizes, constants or state of their own, and leaves.
        Op::Conv2d(_)
        | Op::Conv2dGradInput(_)
        | Op::Conv2dGradWeight(_)
        | Op::MaxPool2d(_)
        | Op::MaxPool2dGrad(_)
        | Op::AvgPool2d(_)
        | Op::AvgPool2dGrad(_)
        | Op::Reshape { .. }
        | Op::MatMul { .. }
        | Op::Sum { .. }
        | Op::Broadcast { .. }
        | Op::First { .. }
        | Op::Unary(_)
        | Op::Binary(_)
        | Op::Softmax
        | Op::SoftmaxVjp
        | Op::OneHot { .. }
        | Op::ClipScale { .. }
        | Op::Update { .. }
        | Op::RunningUpdate { .. }
        | Op::CountBatch
        | Op::DropoutMask { .. }
        | Op::Input
        | Op::Labels
        | Op::Targets
        | Op::Param { .. }
        | Op::Const(_)
        | Op::LayerTraining { .. } => return None,
    })
}

/// The runtime rule that applies `rule`: `optim::Adam { beta1: 0.9, .. }`.
fn update_rule(rule: UpdateRule, dtype: DType) -> TokenStream {
    let ty = ident(rule.runtime_type());
    let fields = rule.arguments().into_iter().map(|(name, value)| {
        let name = ident(name);
        let value = match value {
            Value::Number(x) => float(x, dtype),
            Value::Bool(b) => quote!(#b),
            other => unreachable!("optimizer constants are numbers and flags, found {other:?}"),
        };
        quote!(#name: #value)
    });
    quote!(rt::optim::#ty { #(#fields),* })
}

/// Builds the kernel of node `n`, named `name`, documented with `doc` (its IR line).
pub fn kernel(graph: &Graph, n: NodeId, name: &str, doc: &str, names: &Names) -> Kernel {
    build(graph, n, name, doc, names, None)
}

/// The call of node `n`'s kernel, which shares the code of an earlier one (whose call passes
/// the batch size if `uses_batch`); the kernel's `item` is empty.
pub fn shared_kernel_call(graph: &Graph, n: NodeId, name: &str, names: &Names, uses_batch: bool) -> Kernel {
    build(graph, n, name, "", names, Some(uses_batch))
}

/// Whether node `n`'s kernel keeps a buffer of its own besides its result (convolution
/// columns, max-pool positions).
pub fn has_scratch(graph: &Graph, n: NodeId) -> bool {
    let op = graph.op(n);
    columns_per_example(op).is_some() || matches!(op, Op::MaxPool2d(_)) && saves_argmax(graph, n)
}

fn build(graph: &Graph, n: NodeId, name: &str, doc: &str, names: &Names, shared_uses_batch: Option<bool>) -> Kernel {
    let dtype = graph.dtype;
    let t = float_type(dtype);
    let node = graph.node(n);
    let operands = graph.operands(n);
    let roles = operand_names(&node.op);
    let k = quote!(rt::kernels);

    // Operands: slices become parameters, constants are folded into the body.
    let mut params = Vec::new();
    let mut args = Vec::new();
    let mut inputs = Vec::new();
    for (i, &o) in operands.iter().enumerate() {
        if let Op::Const(c) = graph.op(o) {
            let v = float(c.number_value(), dtype);
            inputs.push(if c.per_batch {
                Operand::Value(quote!(#v / batch as #t), true)
            } else {
                Operand::Value(v, false)
            });
            continue;
        }
        let role = ident(&roles.get(i).map_or_else(|| format!("operand{i}"), |r| r.to_string()));
        // A max-pool gradient reads the positions its forward pool saved, not its values.
        let reads_argmax = matches!(node.op, Op::MaxPool2dGrad(_)) && i == 0;
        let elem = match () {
            _ if reads_argmax => quote!(u32),
            _ if graph.op(o).is_index() => quote!(usize),
            _ => t.clone(),
        };
        params.push(quote!(#role: &[#elem]));
        let arg = if reads_argmax {
            let field = ident(&argmax_field(names.buffer(o)));
            quote!(&buffers.#field)
        } else {
            argument(graph, o, names)
        };
        // The clip norm counts only gradients of parameters that are trainable now.
        let grad_of = names.gradient_of(o).map(param_const);
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
        // A kernel that shares an earlier one's code needs only its call; no body is built.
        _ if shared_uses_batch.is_some() => {
            uses_batch = shared_uses_batch == Some(true);
            TokenStream::new()
        }
        Op::MatMul { transpose_a, transpose_b } => {
            let (m, kk) = matrix(graph.shape(operands[0]), *transpose_a);
            let (_, nn) = matrix(graph.shape(operands[1]), *transpose_b);
            let ((m, b1), (kk, b2), (nn, b3)) = (dim(m), dim(kk), dim(nn));
            uses_batch = b1 || b2 || b3;
            let (a, b) = (slice(0), slice(1));
            quote!(#k::matmul(#m, #kk, #nn, #a, #transpose_a, #b, #transpose_b, out);)
        }
        Op::Sum { axes } | Op::First { axes } | Op::Broadcast { axes, .. } => {
            // Walked as outer × kept × inner over the larger shape (verified to fit).
            let large = if matches!(node.op, Op::Broadcast { .. }) { n } else { operands[0] };
            let inner = usize_lit(axes.inner(graph.shape(large)).expect("verified axes"));
            let f = match node.op {
                Op::Sum { .. } => quote!(sum_along),
                Op::First { .. } => quote!(first_along),
                _ => quote!(broadcast_along),
            };
            let x = slice(0);
            quote!(#k::#f(#inner, #x, out);)
        }
        Op::Unary(u) => {
            let f = scalar::unary(*u, dtype, quote!(v));
            let x = slice(0);
            quote!(#k::map(#x, out, |v| #f);)
        }
        Op::Binary(b) => {
            let f = scalar::binary(*b, dtype, quote!(a), quote!(b));
            let f = quote!(|a, b| #f);
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
                Broadcast::Along(axes) => {
                    let inner = usize_lit(axes.inner(graph.shape(n)).expect("verified axes"));
                    let b = slice(1);
                    quote!(#k::zip_along(#inner, #a, #b, out, #f);)
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
            let f = runtime_kernel(&node.op).expect("a loss kernel");
            let (p, labels) = (slice(0), slice(1));
            quote!(#k::#f(#cols, #p, #labels, out);)
        }
        Op::BinaryCrossEntropy
        | Op::BinaryCrossEntropyGrad
        | Op::BinaryCrossEntropyWithLogits
        | Op::MeanSquaredError
        | Op::SumSquares
        | Op::SumAbs
        | Op::ScaleRows
        | Op::SumAll => {
            let f = runtime_kernel(&node.op).expect("a kernel of its operands");
            let operands = (0..operands.len()).map(slice);
            quote!(#k::#f(#(#operands,)* out);)
        }
        Op::DropoutMask { p } => {
            let p = float(p.0, dtype);
            quote!(#k::dropout_mask(rng, #p, out);)
        }
        Op::RunningUpdate { momentum, unbiased, per_example } => {
            let stat = slice(1);
            let m = float(momentum.0, dtype);
            if *unbiased {
                uses_batch = true;
                // n/(n − 1) with n the values per feature in the batch.
                let n = match per_example {
                    1 => quote!(batch),
                    p => {
                        let p = usize_lit(*p);
                        quote!((batch * #p))
                    }
                };
                quote!(#k::running_update(staged, #stat, #m, #n as #t / (#n - 1) as #t))
            } else {
                quote!(#k::running_update(staged, #stat, #m, 1.0))
            }
        }
        Op::CountBatch => quote!(#k::count_batch(staged)),
        Op::Update { rule, clipped } => {
            let grad = slice(1);
            let scale = if *clipped {
                let s = slice(2);
                quote!(#s[0])
            } else {
                quote!(1.0)
            };
            let rule = update_rule(*rule, dtype);
            quote!(#rule.update(staged, #grad, #scale, lr))
        }
        Op::ClipScale { max_norm, .. } => {
            let max_norm = float(max_norm.0, dtype);
            let grads = (0..operands.len()).map(slice);
            quote!(#k::clip_scale(&[#(#grads),*], #max_norm, out);)
        }
        Op::Conv2d(w) | Op::Conv2dGradInput(w) | Op::Conv2dGradWeight(w) => {
            let f = match node.op {
                Op::Conv2d(_) => quote!(conv2d),
                Op::Conv2dGradInput(_) => quote!(conv2d_grad_input),
                _ => quote!(conv2d_grad_weight),
            };
            let (window, a, b) = (window(w), slice(0), slice(1));
            quote!(rt::conv::#f(#window, #a, #b, out, columns);)
        }
        Op::MaxPool2d(w) if saves_argmax(graph, n) => {
            let (window, x) = (window(w), slice(0));
            quote!(rt::conv::max_pool2d_argmax(#window, #x, out, argmax);)
        }
        Op::MaxPool2d(w) | Op::AvgPool2d(w) | Op::AvgPool2dGrad(w) => {
            let f = match node.op {
                Op::MaxPool2d(_) => quote!(max_pool2d),
                Op::AvgPool2d(_) => quote!(avg_pool2d),
                _ => quote!(avg_pool2d_grad),
            };
            let (window, x) = (window(w), slice(0));
            quote!(rt::conv::#f(#window, #x, out);)
        }
        Op::MaxPool2dGrad(w) => {
            let (window, argmax, g) = (window(w), slice(0), slice(1));
            quote!(rt::conv::max_pool2d_grad(#window, #argmax, #g, out);)
        }
        Op::Reshape { .. } => {
            let x = slice(0);
            quote!(out.copy_from_slice(#x);)
        }
        Op::Input | Op::Labels | Op::Targets | Op::Param { .. } | Op::Const(_) | Op::LayerTraining { .. } => {
            unreachable!("leaves have no kernel")
        }
    };

    let fn_name = ident(name);
    let doc = format!(" `{doc}`");
    let batch_param = uses_batch.then(|| quote!(batch: usize,));
    let batch_arg = uses_batch.then(|| quote!(batch,));
    if node.op.has_side_effect() {
        // A side effect writes its first operand, a parameter: into the staged buffer, saying
        // whether what it wrote is finite (the step commits only if every update is).
        let param = match graph.op(operands[0]) {
            Op::Param { name, .. } => param_const(name),
            _ => unreachable!("verified: side effects write parameters"),
        };
        let (rest_params, rest_args) = (&params[1..], &args[1..]);
        let optimizer = node.op.is_optimizer_update();
        let lr_param = optimizer.then(|| quote!(lr: #t,));
        let item = quote! {
            #[doc = #doc]
            #[inline]
            fn #fn_name(#batch_param staged: rt::Staged<'_, #t>, #(#rest_params,)* #lr_param) -> bool {
                #body
            }
        };
        // The staging runs the kernel on the parameter's second buffers and turns "not all
        // finite" into `Err(parameter)`. Optimizer updates skip parameters the user made
        // non-trainable, count their own steps (Adam's bias correction restarts for a
        // parameter that starts training late, as PyTorch's per-parameter `step`), and get the
        // learning rate scaled by their layer's scale; a batch norm frozen at run time keeps
        // its running statistics.
        let call = match (optimizer, uses_batch || !rest_args.is_empty()) {
            (true, _) => quote! {
                staging.update_parameter(params, state, #param, lr, |staged, lr| {
                    #fn_name(#batch_arg staged, #(#rest_args,)* lr)
                })?;
            },
            (false, true) => quote! {
                staging.update_statistic(params, #param, |staged| #fn_name(#batch_arg staged, #(#rest_args,)*))?;
            },
            (false, false) => quote!(staging.update_statistic(params, #param, #fn_name)?;),
        };
        return Kernel { item, call, uses_batch, uses_rng: false, scratch: None };
    }
    if node.op.is_random() {
        let field = ident(name);
        let item = quote! {
            #[doc = #doc]
            #[inline]
            fn #fn_name(rng: &mut rt::Rng, out: &mut [#t]) {
                #body
            }
        };
        let call = quote!(#fn_name(rng, &mut buffers.#field););
        return Kernel { item, call, uses_batch: false, uses_rng: true, scratch: None };
    }
    let field = ident(name);
    // A convolution also gets its columns workspace, a max pool whose gradient is taken the
    // positions of its maxima: buffers of their own.
    let scratch = match columns_per_example(&node.op) {
        Some(per_example) => {
            Some(Scratch { field: ident(&format!("{name}_columns")), per_example, kind: ScratchKind::Columns })
        }
        None if matches!(node.op, Op::MaxPool2d(_)) && saves_argmax(graph, n) => Some(Scratch {
            field: ident(&argmax_field(name)),
            per_example: graph.shape(n).fixed_numel(),
            kind: ScratchKind::Argmax,
        }),
        None => None,
    };
    let (scratch_param, scratch_arg) = match &scratch {
        Some(Scratch { field, kind: ScratchKind::Columns, .. }) => {
            (quote!(columns: &mut [#t],), quote!(&mut buffers.#field,))
        }
        Some(Scratch { field, kind: ScratchKind::Argmax, .. }) => {
            (quote!(argmax: &mut [u32],), quote!(&mut buffers.#field,))
        }
        None => (quote!(), quote!()),
    };
    // A clip factor reads every gradient: one argument each.
    let many = (params.len() > 5).then(|| quote!(#[allow(clippy::too_many_arguments)]));
    let item = quote! {
        #[doc = #doc]
        #[inline]
        #many
        fn #fn_name(#batch_param #(#params,)* out: &mut [#t], #scratch_param) {
            #body
        }
    };
    let call = quote!(#fn_name(#batch_arg #(#args,)* &mut buffers.#field, #scratch_arg););
    Kernel { item, call, uses_batch, uses_rng: false, scratch }
}
