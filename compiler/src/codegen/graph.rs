//! A compiled graph as a Rust module: a buffer struct with one field per stored node result,
//! the functions that run the schedule, and one kernel function per node or fused group.

use std::collections::{BTreeMap, BTreeSet};

use proc_macro2::{Ident, Literal, TokenStream};
use quote::quote;

use super::fused::{fused_call, fused_kernel, stored_members};
use super::kernel::{Kernel, Scratch, ScratchKind, float_type, has_scratch, kernel, shared_kernel_call, usize_lit};
use super::names::{Names, ident, param_const, snake};
use super::shared_kernels::{SharedKernels, alias, kernel_key};
use crate::ir::{DType, Graph, Mode, NodeId, Op, Output, Phase};

/// The module body for `graph`, whose IR lines are `node_lines`.
pub fn graph_module(graph: &Graph, node_lines: &BTreeMap<NodeId, String>) -> TokenStream {
    let names = Names::of(graph);
    // The IR line of every node, squeezed, for the doc attributes of kernels and buffers.
    let lines: BTreeMap<NodeId, String> = node_lines.iter().map(|(&n, l)| (n, compact(l))).collect();
    let emitted = emit_kernels(graph, &names, &lines);
    let buffers = buffer_struct(graph, &names, &lines, &emitted.stored, &emitted.scratch);
    let run = match graph.mode {
        Mode::Inference => forward_function(graph, &names, &emitted),
        Mode::Inspection => inspect_function(graph, &names, &emitted),
        Mode::Training | Mode::FineTuning => training_functions(graph, &names, &emitted),
    };
    // Assembled by moving the parts in: interpolating them would copy every token again.
    let mut body = quote!(
        use super::*;
    );
    body.extend([buffers, run]);
    body.extend(emitted.kernels);
    body
}

/// The kernels of a graph and the statements that call them, in schedule order.
struct Emitted {
    /// Kernel function items.
    kernels: Vec<TokenStream>,
    /// Calls of the kernels up to the updates.
    compute: Vec<TokenStream>,
    /// Calls of the side-effect kernels (updates, running statistics).
    updates: Vec<TokenStream>,
    /// Calls of the kernels that read only the finished gradients (the `clip_norm` factor),
    /// run after the compute calls and again when the gradients are replaced (their average
    /// over processes, in data-parallel training).
    finish: Vec<TokenStream>,
    /// The nodes whose results have a buffer, in schedule order.
    stored: Vec<NodeId>,
    /// Whether the compute calls read the batch size.
    compute_uses_batch: bool,
    /// Whether the update calls read the batch size.
    update_uses_batch: bool,
    /// Whether the compute calls draw from the random generator.
    uses_rng: bool,
    /// Buffers kernels keep besides their results (convolution columns, max-pool positions).
    scratch: Vec<Scratch>,
}

/// One kernel per node, or per fused group at its first member.
fn emit_kernels(graph: &Graph, names: &Names, lines: &BTreeMap<NodeId, String>) -> Emitted {
    let order = graph.order();
    let mut unstored: BTreeSet<NodeId> = BTreeSet::new();
    for members in graph.groups().values() {
        let stored = stored_members(graph, members, names);
        unstored.extend(members.iter().filter(|m| !stored.contains(m)));
    }
    let mut emitted = Emitted {
        kernels: vec![],
        compute: vec![],
        updates: vec![],
        finish: vec![],
        stored: vec![],
        compute_uses_batch: false,
        update_uses_batch: false,
        uses_rng: false,
        scratch: vec![],
    };
    // Each group's members in schedule order, gathered once.
    let mut group_members: BTreeMap<u32, Vec<NodeId>> = BTreeMap::new();
    for &n in &order {
        if let Some(g) = graph.node(n).group {
            group_members.entry(g).or_default().push(n);
        }
    }
    let mut emitted_groups = BTreeSet::new();
    let mut kernel_names: BTreeSet<String> = names.all_buffers().cloned().collect();
    let mut shared = SharedKernels::default();
    for &n in &order {
        if !names.has_buffer(n) {
            continue;
        }
        let k = match graph.node(n).group {
            Some(g) if !emitted_groups.insert(g) => None,
            Some(g) => Some(group_kernel(graph, &group_members[&g], &mut kernel_names, &mut shared, lines, names)),
            None => Some(node_kernel(graph, n, &mut shared, lines, names)),
        };
        let side_effect = graph.op(n).has_side_effect();
        if let Some(k) = k {
            emitted.kernels.push(k.item);
            emitted.scratch.extend(k.scratch);
            if side_effect {
                emitted.updates.push(k.call);
                emitted.update_uses_batch |= k.uses_batch;
            } else if matches!(graph.op(n), Op::ClipScale { .. }) {
                emitted.finish.push(k.call);
            } else {
                emitted.compute.push(k.call);
                emitted.compute_uses_batch |= k.uses_batch;
                emitted.uses_rng |= k.uses_rng;
            }
        }
        if !side_effect && !unstored.contains(&n) {
            emitted.stored.push(n);
        }
    }
    emitted
}

/// The kernel of a fused group, or a `use` of an earlier group's with the same code.
fn group_kernel(
    graph: &Graph,
    members: &[NodeId],
    kernel_names: &mut BTreeSet<String>,
    shared: &mut SharedKernels,
    lines: &BTreeMap<NodeId, String>,
    names: &Names,
) -> Kernel {
    let name = group_name(graph, members, kernel_names);
    // A convolution's kernel also takes a workspace named after it: never shared.
    let convolution = members.iter().any(|&m| matches!(graph.op(m), Op::Conv2d(_) | Op::Conv2dGradInput(_)));
    let key = (!convolution).then(|| kernel_key(graph, members, &stored_members(graph, members, names)));
    if let Some(first) = key.as_ref().and_then(|key| shared.earlier(key)) {
        #[cfg(test)]
        shared.check(key.as_ref().expect("a key"), &fused_kernel(graph, members, &name, lines, names).item);
        let name = ident(&name);
        let member_lines: Vec<&str> = members.iter().map(|m| lines[m].as_str()).collect();
        return Kernel {
            item: alias(&first.name, &name, &member_lines),
            call: fused_call(graph, members, &name, first.uses_batch, names),
            uses_batch: first.uses_batch,
            uses_rng: false,
            scratch: None,
        };
    }
    let kernel = fused_kernel(graph, members, &name, lines, names);
    if let Some(key) = key {
        shared.record(key, ident(&name), &kernel.item, kernel.uses_batch);
    }
    kernel
}

/// The kernel of node `n`, or a `use` of an earlier node's with the same code.
fn node_kernel(
    graph: &Graph,
    n: NodeId,
    shared: &mut SharedKernels,
    lines: &BTreeMap<NodeId, String>,
    names: &Names,
) -> Kernel {
    let name = names.buffer(n);
    // A kernel with a buffer of its own (a max pool's saved positions) is never shared.
    if has_scratch(graph, n) {
        return kernel(graph, n, name, &lines[&n], names);
    }
    let key = kernel_key(graph, &[n], &BTreeSet::from([n]));
    match shared.earlier(&key) {
        Some(first) => {
            let mut call = shared_kernel_call(graph, n, name, names, first.uses_batch);
            #[cfg(test)]
            {
                // The whole kernel, built in tests only: its code is the first's, and its call
                // is the one built without it.
                let whole = kernel(graph, n, name, &lines[&n], names);
                shared.check(&key, &whole.item);
                assert_eq!(call.call.to_string(), whole.call.to_string(), "the call of {name}");
            }
            call.item = alias(&first.name, &ident(name), &[lines[&n].as_str()]);
            call
        }
        None => {
            let kernel = kernel(graph, n, name, &lines[&n], names);
            shared.record(key, ident(name), &kernel.item, kernel.uses_batch);
            kernel
        }
    }
}

/// The buffer struct: one field per stored node, its byte count and its resizing.
fn buffer_struct(
    graph: &Graph,
    names: &Names,
    lines: &BTreeMap<NodeId, String>,
    stored: &[NodeId],
    scratch: &[Scratch],
) -> TokenStream {
    let t = float_type(graph.dtype);
    let fields: Vec<Ident> =
        stored.iter().map(|&n| ident(names.buffer(n))).chain(scratch.iter().map(|s| s.field.clone())).collect();
    let elements: Vec<TokenStream> =
        stored.iter().map(|_| t.clone()).chain(scratch.iter().map(|s| s.element(&t))).collect();
    let zeros: Vec<TokenStream> = stored
        .iter()
        .map(|_| quote!(0.0))
        .chain(scratch.iter().map(|s| if s.kind == ScratchKind::Argmax { quote!(0) } else { quote!(0.0) }))
        .collect();
    let docs = stored.iter().map(|n| format!(" `{}`", lines[n])).chain(scratch.iter().map(Scratch::doc));
    let lens: Vec<TokenStream> = stored
        .iter()
        .map(|&n| {
            let shape = graph.shape(n);
            let fixed = usize_lit(shape.fixed_numel());
            if shape.has_batch() { quote!(batch * #fixed) } else { quote!(#fixed) }
        })
        .chain(scratch.iter().map(|s| {
            let len = usize_lit(s.per_example);
            quote!(batch * #len)
        }))
        .collect();
    // One resizing call per length and fill the buffers share (most are `[B, width]`).
    let mut groups: Vec<(String, &TokenStream, &TokenStream, Vec<&Ident>)> = Vec::new();
    for ((field, len), zero) in fields.iter().zip(&lens).zip(&zeros) {
        let key = format!("{len} {zero}");
        match groups.iter_mut().find(|g| g.0 == key) {
            Some(group) => group.3.push(field),
            None => groups.push((key, len, zero, vec![field])),
        }
    }
    let resizes = groups
        .iter()
        .map(|(_, len, zero, fields)| quote!(rt::resident::resize_all(&mut [#(&mut self.#fields),*], #len, #zero)));
    let total = match groups.is_empty() {
        true => quote!(0),
        false => quote!(#(#resizes)+*),
    };
    let name = match graph.mode {
        Mode::Inference => ident("ForwardBuffers"),
        Mode::Inspection => ident("InspectBuffers"),
        Mode::Training | Mode::FineTuning => ident("TrainBuffers"),
    };
    let doc = format!(" Buffers of `{}` for one batch size.", graph.name);
    quote! {
        #[doc = #doc]
        #[derive(Clone, Default)]
        pub struct #name {
            /// The batch size the buffers are sized for (0 before the first run).
            pub batch: usize,
            /// Bytes held by the buffers (their capacity), as of the last resizing.
            pub bytes: usize,
            #(#[doc = #docs] pub #fields: Vec<#elements>,)*
        }

        impl #name {
            /// Sizes every buffer for `batch` examples; shrinking keeps the allocation.
            pub fn resize(&mut self, batch: usize) {
                self.batch = batch;
                self.bytes = #total;
            }
        }
    }
}

/// `forward`: the inference graph's schedule, returning the prediction.
fn forward_function(graph: &Graph, names: &Names, emitted: &Emitted) -> TokenStream {
    let t = float_type(graph.dtype);
    let node = graph.output(&Output::Prediction).expect("inference graphs output a prediction");
    // A network that is the identity in evaluation (only dropout) returns its input.
    let result = match graph.op(node) {
        Op::Input => quote!(x.to_vec()),
        _ => {
            let field = ident(names.buffer(node));
            quote!(buffers.#field)
        }
    };
    let doc = format!(" Runs `{}`: the network in evaluation mode.", graph.name);
    let compute = &emitted.compute;
    quote! {
        #[doc = #doc]
        pub fn forward(params: &rt::ParamStore<#t>, x: &[#t], batch: usize) -> ::std::vec::Vec<#t> {
            let mut buffers = ForwardBuffers::default();
            buffers.resize(batch);
            // The kernels inlined here use AVX2 where the CPU has it (same results).
            rt::simd::wide(|| {
                #(#compute)*
            });
            #result
        }
    }
}

/// `inspect`: the inspection graph's schedule, returning every layer's output in layer order.
fn inspect_function(graph: &Graph, names: &Names, emitted: &Emitted) -> TokenStream {
    let t = float_type(graph.dtype);
    // The outputs sort by layer index. A layer that is the identity in evaluation (dropout)
    // outputs its input, which may be the network's input itself; a buffer two layers share
    // is copied for the first and moved out for the last.
    let nodes: Vec<NodeId> =
        graph.outputs().filter(|(o, _)| matches!(o, Output::Layer { .. })).map(|(_, n)| n).collect();
    let layers: Vec<TokenStream> = nodes
        .iter()
        .enumerate()
        .map(|(i, &n)| match graph.op(n) {
            Op::Input => quote!(x.to_vec()),
            _ => {
                let field = ident(names.buffer(n));
                match nodes[i + 1..].contains(&n) {
                    true => quote!(buffers.#field.clone()),
                    false => quote!(::core::mem::take(&mut buffers.#field)),
                }
            }
        })
        .collect();
    let doc = format!(
        " Runs `{}`: every layer's output, batch norm on batch statistics if `training`, else on running ones.",
        graph.name
    );
    let compute = &emitted.compute;
    let selects = graph.node_ids().iter().any(|&n| matches!(graph.op(n), Op::LayerTraining { .. }));
    let training = underscore_unless(selects, "training");
    quote! {
        #[doc = #doc]
        pub fn inspect(
            params: &rt::ParamStore<#t>,
            x: &[#t],
            batch: usize,
            #training: bool,
        ) -> ::std::vec::Vec<::std::vec::Vec<#t>> {
            let mut buffers = InspectBuffers::default();
            buffers.resize(batch);
            // The kernels inlined here use AVX2 where the CPU has it (same results).
            rt::simd::wide(|| {
                #(#compute)*
            });
            ::std::vec![#(#layers),*]
        }
    }
}

/// `name` if `used`, else `_name`.
fn underscore_unless(used: bool, name: &str) -> Ident {
    ident(&if used { name.to_string() } else { format!("_{name}") })
}

/// `loss_and_grads`, `update`, `gradient` and `prediction` of the training graph.
fn training_functions(graph: &Graph, names: &Names, emitted: &Emitted) -> TokenStream {
    let t = float_type(graph.dtype);
    let order = graph.order();
    let loss = ident(names.buffer(graph.output(&Output::Loss).expect("training graphs output a loss")));
    let grads: Vec<(Ident, Ident)> = graph
        .outputs()
        .filter_map(|(o, n)| match o {
            Output::Grad(param) => Some((param_const(param), ident(names.buffer(n)))),
            _ => None,
        })
        .collect();
    // A differentiable parameter the loss does not depend on (a bias that batch norm cancels)
    // has a gradient of exactly zero.
    let zero_grads: Vec<(Ident, Ident, Literal)> = order
        .iter()
        .filter_map(|&n| match graph.op(n) {
            op @ Op::Param { name, .. }
                if op.is_differentiable_param() && graph.output(&Output::Grad(name.clone())).is_none() =>
            {
                let zero = ident(&format!("ZERO_GRAD_{}", param_const(name)));
                Some((param_const(name), zero, usize_lit(graph.shape(n).fixed_numel())))
            }
            _ => None,
        })
        .collect();
    let zero_statics = zero_grads.iter().map(|(_, zero, len)| {
        quote!(#[doc = " A gradient that is zero by construction."] static #zero: [#t; #len] = [0.0; #len];)
    });
    let arms = grads
        .iter()
        .map(|(index, field)| quote!(#index => Some(&buffers.#field),))
        .chain(zero_grads.iter().map(|(index, zero, _)| quote!(#index => Some(&#zero),)))
        .collect::<Vec<_>>();
    // Zero-by-construction gradients are the same everywhere and not writable.
    let mut_arms: Vec<TokenStream> =
        grads.iter().map(|(index, field)| quote!(#index => Some(&mut buffers.#field),)).collect();
    let gradient_mut = match mut_arms.is_empty() {
        true => quote!({
            let _ = (buffers, index);
            None
        }),
        false => quote!(match index { #(#mut_arms)* _ => None }),
    };
    let finish = &emitted.finish;
    let (finish_params, finish_buffers) = match finish.is_empty() {
        true => (ident("_params"), ident("_buffers")),
        false => (ident("params"), ident("buffers")),
    };
    let gradient = match arms.is_empty() {
        true => quote!({
            let _ = (buffers, index);
            None
        }),
        false => quote!(match index { #(#arms)* _ => None }),
    };
    // The network's output, if the step computes one (it is the input itself only for a
    // network without layers).
    let prediction = match graph.output(&Output::Prediction) {
        Some(n) if *graph.op(n) != Op::Input => {
            let field = ident(names.buffer(n));
            quote!(Some(&buffers.#field))
        }
        _ => quote!({
            let _ = buffers;
            None
        }),
    };
    let loss_value = match graph.dtype {
        DType::F32 => quote!(f64::from(buffers.#loss[0])),
        DType::F64 => quote!(buffers.#loss[0]),
    };
    let run_doc =
        format!(" Runs `{}` up to its updates: forward, loss and every gradient. Returns the loss.", graph.name);
    let update_doc =
        format!(" The update nodes of `{}`: applies the optimizer to every trainable parameter.", graph.name);
    let side_effects: Vec<NodeId> = order.iter().copied().filter(|&n| graph.op(n).has_side_effect()).collect();
    let optimizes = side_effects.iter().any(|&n| graph.op(n).is_optimizer_update());
    let params_arg = underscore_unless(!side_effects.is_empty(), "params");
    let staging_arg = underscore_unless(!side_effects.is_empty(), "staging");
    let (state_arg, lr_arg) = (underscore_unless(optimizes, "state"), underscore_unless(optimizes, "lr"));
    let reads_buffers = emitted.update_uses_batch || side_effects.iter().any(|&n| graph.op(n).arity() > 1);
    let buffers_arg = underscore_unless(reads_buffers, "buffers");
    let rng_arg = underscore_unless(emitted.uses_rng, "rng");
    let has = |op: Op| order.iter().any(|&n| *graph.op(n) == op);
    let labels = underscore_unless(has(Op::Labels), "labels");
    let targets = underscore_unless(has(Op::Targets), "targets");
    let body_batch = emitted.compute_uses_batch.then(|| quote!(let batch = buffers.batch;));
    let update_batch = emitted.update_uses_batch.then(|| quote!(let batch = buffers.batch;));
    let (compute, updates) = (&emitted.compute, &emitted.updates);
    quote! {
        #[doc = #run_doc]
        pub fn loss_and_grads(
            params: &rt::ParamStore<#t>,
            buffers: &mut TrainBuffers,
            x: &[#t],
            #labels: &[usize],
            #targets: &[#t],
            #rng_arg: &mut rt::Rng,
        ) -> f64 {
            #body_batch
            // The kernels inlined here use AVX2 where the CPU has it (same results).
            rt::simd::wide(|| {
                #(#compute)*
                #(#finish)*
            });
            #loss_value
        }

        /// Re-runs the kernels that read only the finished gradients (the `clip_norm` factor),
        /// after the gradients were replaced.
        pub fn finish_gradients(
            #finish_params: &rt::ParamStore<#t>,
            #finish_buffers: &mut TrainBuffers,
        ) {
            #(#finish)*
        }

        #[doc = #update_doc]
        pub fn update(
            #params_arg: &rt::ParamStore<#t>,
            #state_arg: &rt::OptimizerState<#t>,
            #staging_arg: &mut rt::UpdateStaging<#t>,
            #buffers_arg: &TrainBuffers,
            #lr_arg: f64,
        ) -> ::core::result::Result<(), usize> {
            #update_batch
            #(#updates)*
            ::core::result::Result::Ok(())
        }

        #(#zero_statics)*

        /// The gradient buffer of parameter `index`, if it has one.
        pub fn gradient(buffers: &TrainBuffers, index: usize) -> Option<&[#t]> {
            #gradient
        }

        /// The gradient buffer of parameter `index`, writable, if it has one of its own.
        pub fn gradient_mut(buffers: &mut TrainBuffers, index: usize) -> Option<&mut [#t]> {
            #gradient_mut
        }

        /// The network's output for the batch of the last step (training mode).
        pub fn prediction(buffers: &TrainBuffers) -> Option<&[#t]> {
            #prediction
        }
    }
}

/// The name of a fused kernel: its layers in order, then `forward` or `backward`
/// (`fc1_bn1_act1_forward`), made unique.
fn group_name(graph: &Graph, members: &[NodeId], taken: &mut BTreeSet<String>) -> String {
    let mut layers: Vec<String> = Vec::new();
    for &m in members {
        let layer = graph.node(m).layer.as_deref().map_or_else(|| "graph".to_string(), snake);
        if !layers.contains(&layer) {
            layers.push(layer);
        }
    }
    let phase = if members.iter().any(|&m| graph.node(m).phase == Phase::Gradient) { "backward" } else { "forward" };
    let base = format!("{}_{phase}", layers.join("_"));
    let mut name = base.clone();
    let mut suffix = 2;
    while !taken.insert(name.clone()) {
        name = format!("{base}_{suffix}");
        suffix += 1;
    }
    name
}

/// A printed IR line with the listing's column padding squeezed out, for a doc attribute.
fn compact(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    for word in line.split("  ").filter(|w| !w.trim().is_empty()) {
        if !out.is_empty() {
            out.push_str("  ");
        }
        out.push_str(word.trim());
    }
    out
}
