//! A compiled graph as a Rust module: a buffer struct with one field per node result, the
//! function that runs the schedule, and one kernel function per node.

use std::collections::{BTreeMap, BTreeSet};

use proc_macro2::TokenStream;
use quote::quote;

use super::fused::{fused_kernel, stored_members};
use super::kernel::{float_type, kernel, usize_lit};
use super::names::{buffer_names, ident, param_const, snake};
use crate::ir::{Graph, NodeId, Op, Output, node_lines};

/// Which generated function a graph becomes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `forward`: returns the prediction.
    Inference,
    /// `loss_and_grads` + `update`.
    Training,
}

fn len_expr(graph: &Graph, n: NodeId) -> TokenStream {
    let shape = graph.shape(n);
    let fixed = shape.fixed_numel();
    let fixed = usize_lit(fixed);
    if shape.has_batch() { quote!(batch * #fixed) } else { quote!(#fixed) }
}

/// The module body for `graph`.
pub fn graph_module(graph: &Graph, role: Role) -> TokenStream {
    let t = float_type(graph.dtype);
    let names = buffer_names(graph);
    let lines = node_lines(graph);
    let order = graph.order();
    let (mut fields, mut resizes, mut kernels, mut compute, mut updates) = (vec![], vec![], vec![], vec![], vec![]);
    let (mut compute_uses_batch, mut update_uses_batch, mut uses_rng) = (false, false, false);
    let groups = graph.groups();
    let mut unstored: BTreeSet<NodeId> = BTreeSet::new();
    for members in groups.values() {
        let stored = stored_members(graph, members);
        unstored.extend(members.iter().filter(|m| !stored.contains(m)));
    }
    let mut emitted_groups = BTreeSet::new();
    let mut field_names: Vec<proc_macro2::Ident> = Vec::new();
    let mut kernel_names: BTreeSet<String> = names.values().cloned().collect();
    for &n in &order {
        let Some(name) = names.get(&n) else { continue };
        let k = match graph.node(n).group {
            Some(g) if !emitted_groups.insert(g) => None,
            Some(g) => {
                let members: Vec<NodeId> = order.iter().copied().filter(|m| graph.node(*m).group == Some(g)).collect();
                let compact_lines = members.iter().map(|&m| (m, compact(&lines[&m]))).collect();
                let kernel_name = group_name(graph, &members, &mut kernel_names);
                Some(fused_kernel(graph, &members, &kernel_name, &compact_lines, &names))
            }
            None => Some(kernel(graph, n, name, &compact(&lines[&n]), &names)),
        };
        let Some(k) = k else {
            if !unstored.contains(&n) {
                field_names.push(push_buffer(graph, n, name, &lines, &t, &mut fields, &mut resizes));
            }
            continue;
        };
        kernels.push(k.item);
        if graph.op(n).has_side_effect() {
            updates.push(k.call);
            update_uses_batch |= k.uses_batch;
            continue;
        }
        compute.push(k.call);
        compute_uses_batch |= k.uses_batch;
        uses_rng |= k.uses_rng;
        if !unstored.contains(&n) {
            field_names.push(push_buffer(graph, n, name, &lines, &t, &mut fields, &mut resizes));
        }
    }
    let (struct_name, struct_doc) = match role {
        Role::Inference => (ident("ForwardBuffers"), format!(" Buffers of `{}` for one batch size.", graph.name)),
        Role::Training => (ident("TrainBuffers"), format!(" Buffers of `{}` for one batch size.", graph.name)),
    };
    let buffers = quote! {
        #[doc = #struct_doc]
        #[derive(Clone, Default)]
        pub struct #struct_name {
            /// The batch size the buffers are sized for (0 before the first run).
            pub batch: usize,
            #(#fields)*
        }

        impl #struct_name {
            /// Bytes held by the buffers (their capacity).
            pub fn bytes(&self) -> usize {
                (0 #(+ self.#field_names.capacity())*) * ::core::mem::size_of::<#t>()
            }

            /// Sizes every buffer for `batch` examples; shrinking keeps the allocation.
            pub fn resize(&mut self, batch: usize) {
                self.batch = batch;
                #(#resizes)*
            }
        }
    };
    let field_of = |output: &Output| graph.output(output).map(|n| ident(&names[&n]));
    let body_batch = if compute_uses_batch { quote!(let batch = buffers.batch;) } else { quote!() };
    let has = |op: Op| order.iter().any(|&n| *graph.op(n) == op);
    let labels = if has(Op::Labels) { quote!(labels) } else { quote!(_labels) };
    let targets = if has(Op::Targets) { quote!(targets) } else { quote!(_targets) };
    let run = match role {
        Role::Inference => {
            let node = graph.output(&Output::Prediction).expect("inference graphs output a prediction");
            // A network that is the identity in evaluation (only dropout) returns its input.
            let result = match graph.op(node) {
                Op::Input => quote!(x.to_vec()),
                _ => {
                    let field = ident(&names[&node]);
                    quote!(buffers.#field)
                }
            };
            let doc = format!(" Runs `{}`: the network in evaluation mode.", graph.name);
            quote! {
                #[doc = #doc]
                pub fn forward(params: &::gradc::__private::ParamStore<#t>, x: &[#t], batch: usize) -> ::std::vec::Vec<#t> {
                    let mut buffers = ForwardBuffers::default();
                    buffers.resize(batch);
                    #(#compute)*
                    #result
                }
            }
        }
        Role::Training => {
            let loss = field_of(&Output::Loss).expect("training graphs output a loss");
            let grads: Vec<(proc_macro2::Ident, proc_macro2::Ident)> = graph
                .outputs()
                .filter_map(|(o, n)| match o {
                    Output::Grad(param) => Some((param_const(param), ident(&names[&n]))),
                    _ => None,
                })
                .collect();
            // A trainable parameter the loss does not depend on (a bias that batch norm
            // cancels) has a gradient of exactly zero.
            let zero_grads: Vec<(proc_macro2::Ident, proc_macro2::Ident, proc_macro2::Literal)> = order
                .iter()
                .filter_map(|&n| match graph.op(n) {
                    Op::Param { name, trainable: true } if graph.output(&Output::Grad(name.clone())).is_none() => {
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
            let gradient = if arms.is_empty() {
                quote!({
                    let _ = (buffers, index);
                    None
                })
            } else {
                quote!(match index { #(#arms)* _ => None })
            };
            let finite =
                grads.iter().map(|(_, field)| quote!(::gradc::__private::kernels::all_finite(&buffers.#field)));
            let finite = if grads.is_empty() {
                quote!({
                    let _ = buffers;
                    true
                })
            } else {
                quote!(#(#finite)&&*)
            };
            let loss_value = match graph.dtype {
                crate::ir::DType::F32 => quote!(f64::from(buffers.#loss[0])),
                crate::ir::DType::F64 => quote!(buffers.#loss[0]),
            };
            let run_doc = format!(
                " Runs `{}` up to its updates: forward, loss and every gradient. Returns the loss.",
                graph.name
            );
            let update_doc =
                format!(" The update nodes of `{}`: applies the optimizer to every trainable parameter.", graph.name);
            let side_effects: Vec<NodeId> = order.iter().copied().filter(|&n| graph.op(n).has_side_effect()).collect();
            let underscore_unless =
                |used: bool, name: &str| ident(&if used { name.to_string() } else { format!("_{name}") });
            let params_arg = underscore_unless(!side_effects.is_empty(), "params");
            let lr_arg = underscore_unless(side_effects.iter().any(|&n| graph.op(n).is_optimizer_update()), "lr");
            let stateful = side_effects
                .iter()
                .any(|&n| matches!(graph.op(n), Op::Update { rule, .. } if !rule.state_names().is_empty()));
            let state_arg = underscore_unless(stateful, "state");
            let step_arg = underscore_unless(
                side_effects
                    .iter()
                    .any(|&n| matches!(graph.op(n), Op::Update { rule: crate::ir::UpdateRule::Adam { .. }, .. })),
                "step",
            );
            let reads_buffers = update_uses_batch || side_effects.iter().any(|&n| graph.op(n).arity() > 1);
            let buffers_arg = underscore_unless(reads_buffers, "buffers");
            let rng_arg = underscore_unless(uses_rng, "rng");
            let update_batch = if update_uses_batch { quote!(let batch = buffers.batch;) } else { quote!() };
            quote! {
                #[doc = #run_doc]
                pub fn loss_and_grads(
                    params: &::gradc::__private::ParamStore<#t>,
                    buffers: &mut TrainBuffers,
                    x: &[#t],
                    #labels: &[usize],
                    #targets: &[#t],
                    #rng_arg: &mut ::gradc::__private::Rng,
                ) -> f64 {
                    #body_batch
                    #(#compute)*
                    #loss_value
                }

                #[doc = #update_doc]
                pub fn update(
                    #params_arg: &mut ::gradc::__private::ParamStore<#t>,
                    #state_arg: &mut ::gradc::__private::OptimizerState<#t>,
                    #buffers_arg: &TrainBuffers,
                    #lr_arg: #t,
                    #step_arg: u64,
                ) {
                    #update_batch
                    #(#updates)*
                }

                #(#zero_statics)*

                /// The gradient buffer of parameter `index`, if it has one.
                pub fn gradient(buffers: &TrainBuffers, index: usize) -> Option<&[#t]> {
                    #gradient
                }

                /// Whether every gradient is finite (checked before an update).
                pub fn gradients_finite(buffers: &TrainBuffers) -> bool {
                    #finite
                }
            }
        }
    };
    quote! {
        use super::*;

        #buffers
        #run
        #(#kernels)*
    }
}

/// Declares the buffer of node `n` and its resize statement.
fn push_buffer(
    graph: &Graph,
    n: NodeId,
    name: &str,
    lines: &BTreeMap<NodeId, String>,
    t: &TokenStream,
    fields: &mut Vec<TokenStream>,
    resizes: &mut Vec<TokenStream>,
) -> proc_macro2::Ident {
    let field = ident(name);
    let doc = format!(" `{}`", compact(&lines[&n]));
    let len = len_expr(graph, n);
    fields.push(quote!(#[doc = #doc] pub #field: ::std::vec::Vec<#t>,));
    resizes.push(quote!(self.#field.resize(#len, 0.0);));
    field
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
    let phase =
        if members.iter().any(|&m| graph.node(m).phase == crate::ir::Phase::Gradient) { "backward" } else { "forward" };
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
