//! Loop fusion: groups elementwise ops and per-feature broadcasts and sums that share an
//! iteration space (`[B, n]` rows or `[B, C, H, W]` images) into one kernel, together with the
//! GEMM that produces their input.
//!
//! A group becomes a single generated function: the GEMM, then as few passes over the
//! `[B, n]` data as its reductions allow (each row sum whose result the group reads again
//! ends a pass), with per-column values computed between passes. Intermediate row values
//! are never stored, only recomputed, so a chain of activations, masks, scalings and
//! gradient products reads its inputs once and writes its results once. This is how a
//! dense + batch norm + activation layer becomes one kernel forward and one backward.
//!
//! Groups never mix phases (a forward group and a gradient group of the same layer are
//! separate, because the backward one must run after the loss). The pass only annotates
//! nodes with a group; the graph's math is unchanged, so `fusion: false` computes the same
//! values. It does not reorder floating-point sums.

use std::collections::{BTreeMap, BTreeSet};

use super::Pass;
use crate::ir::{Dim, Graph, NodeId, Op};

/// The fusion pass.
pub struct FuseElementwise;

/// The iteration space of a fusible node (see [`Shape::feature_space`]): elementwise ops,
/// per-feature sums and broadcasts over `[B, n]` rows or `[B, C, H, W]` images, and `[n]`
/// per-feature values.
fn space(graph: &Graph, n: NodeId) -> Option<(usize, Option<usize>)> {
    match graph.op(n) {
        Op::Unary(_) | Op::Binary(_) => graph.shape(n).feature_space(),
        Op::Broadcast { axes, to } if to.per_feature_axes() == Some(*axes) => to.feature_space(),
        // The first element joins a group only when it reads a stored product (GEMM or convolution).
        Op::First { .. } if !graph.op(graph.operands(n)[0]).is_product() => None,
        Op::Sum { axes } | Op::First { axes } => {
            let operand = graph.shape(graph.operands(n)[0]);
            if operand.per_feature_axes() != Some(*axes) {
                return None;
            }
            operand.feature_space().filter(|(_, pixels)| pixels.is_some())
        }
        _ => None,
    }
}

/// Whether two spaces can share a kernel: the same features, and the same pixels where both
/// say.
fn compatible(a: (usize, Option<usize>), b: (usize, Option<usize>)) -> bool {
    a.0 == b.0 && (a.1.is_none() || b.1.is_none() || a.1 == b.1)
}

fn find(parent: &mut BTreeMap<NodeId, NodeId>, n: NodeId) -> NodeId {
    let p = parent[&n];
    if p == n {
        return n;
    }
    let root = find(parent, p);
    parent.insert(n, root);
    root
}

impl Pass for FuseElementwise {
    fn name(&self) -> &'static str {
        "fuse_elementwise"
    }

    fn run(&self, graph: &mut Graph) -> syn::Result<()> {
        // Values computed from parameters alone (folded batch-norm scales) are tiny and run
        // once per call; they stay out of the per-example groups.
        let mut data_dependent: BTreeSet<NodeId> = BTreeSet::new();
        for n in graph.topological_order() {
            if matches!(graph.op(n), Op::Input | Op::Labels | Op::Targets | Op::DropoutMask { .. })
                || graph.operands(n).iter().any(|o| data_dependent.contains(o))
            {
                data_dependent.insert(n);
            }
        }
        let fusible: BTreeMap<NodeId, (usize, Option<usize>)> = graph
            .node_ids()
            .into_iter()
            .filter(|n| data_dependent.contains(n))
            .filter_map(|n| space(graph, n).map(|w| (n, w)))
            .collect();
        let mut parent: BTreeMap<NodeId, NodeId> = fusible.keys().map(|&n| (n, n)).collect();
        for (&n, &w) in &fusible {
            for o in graph.operands(n) {
                if fusible.get(&o).is_some_and(|&ow| compatible(ow, w)) && graph.node(o).phase == graph.node(n).phase {
                    let (a, b) = (find(&mut parent, n), find(&mut parent, o));
                    if a != b {
                        parent.insert(a.max(b), a.min(b));
                    }
                }
            }
        }
        let mut components: BTreeMap<NodeId, Vec<NodeId>> = BTreeMap::new();
        for &n in fusible.keys() {
            let root = find(&mut parent, n);
            components.entry(root).or_default().push(n);
        }
        // A group iterates one space: per-feature values that joined rows of two different
        // pixel counts leave nothing fused there.
        let one_space = |members: &Vec<NodeId>| {
            let pixels: BTreeSet<usize> = members.iter().filter_map(|m| fusible[m].1).collect();
            pixels.len() == 1
        };
        let mut groups: Vec<Vec<NodeId>> = components.into_values().filter(|m| m.len() > 1 && one_space(m)).collect();
        // The product (GEMM or convolution) making a group's rows joins it as its head, if it
        // is the only one.
        for members in &mut groups {
            let set: BTreeSet<NodeId> = members.iter().copied().collect();
            let phase = graph.node(members[0]).phase;
            let heads: BTreeSet<NodeId> = members
                .iter()
                .flat_map(|&m| graph.operands(m))
                .filter(|&o| {
                    !set.contains(&o)
                        && graph.op(o).is_product()
                        // The head runs before the group's passes, so it cannot read a member.
                        && graph.operands(o).iter().all(|x| !set.contains(x))
                        && graph.node(o).phase == phase
                        && graph.shape(o).0.first() == Some(&Dim::Batch)
                })
                .collect();
            if heads.len() == 1 {
                members.insert(0, *heads.iter().next().expect("one head"));
            }
        }
        let assign = |graph: &mut Graph, groups: &[Vec<NodeId>]| {
            for n in graph.node_ids() {
                graph.set_group(n, None);
            }
            for (i, members) in groups.iter().enumerate() {
                for &m in members {
                    graph.set_group(m, Some(i as u32));
                }
            }
        };
        assign(graph, &groups);
        if !graph.groups_are_acyclic() {
            // Correctness first: a GEMM head that would make a group wait for itself leaves
            // its group; if that is not enough, nothing is fused (no graph this compiler
            // builds needs either today).
            for members in &mut groups {
                members.retain(|&m| !graph.op(m).is_product());
            }
            assign(graph, &groups);
            if !graph.groups_are_acyclic() {
                assign(graph, &[]);
            }
        }
        Ok(())
    }
}
