//! The graph IR: a DAG of [`Op`]s on a `petgraph` stable graph.
//!
//! Every node has an op, a shape (batch axis symbolic), the layer it came from, the phase that
//! made it (forward, gradient, update) and the span of the user's declaration, so a later pass
//! can still point at the user's line. Operand order is the edge weight. Node indices survive
//! removals, which is what lets passes rewrite in place.

mod axes;
mod dot;
mod infer;
mod op;
mod print;
mod shape;
mod topo;
mod verify;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

use petgraph::Direction;
use petgraph::stable_graph::{NodeIndex, StableDiGraph};
use petgraph::visit::{EdgeRef, IntoEdgeReferences};
use proc_macro2::Span;

pub use axes::Axes;
pub use dot::to_dot;
pub use infer::{Broadcast, broadcast};
pub use op::{Activation, Binary, Const, Num, Op, ParamKind, Real, Unary, UpdateRule, Window};
pub use print::{listing, node_lines, numbering};
pub use shape::{Dim, Shape};
pub use topo::kahn;
pub use verify::verify;

/// A node id; stable across removals.
pub type NodeId = NodeIndex<u32>;

/// Which part of the training step made a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// The forward computation (and the loss).
    Forward,
    /// Made by autodiff.
    Gradient,
    /// Made by the optimizer pass.
    Update,
}

/// Which function a graph computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `forward`: input to prediction, batch norm on running statistics, no dropout.
    Inference,
    /// `train_step`: forward, loss, gradients and updates.
    Training,
    /// `train_step` while a batch norm is frozen at run time (`set_trainable(layer, false)`):
    /// as `Training`, but each batch norm picks batch or running statistics by its layer's
    /// training flag. Compiled only for networks with a batch norm that can train, and run
    /// only while one is frozen, so ordinary training keeps its simpler graph.
    FineTuning,
    /// `activations`: the forward computation keeping every layer's output, for reading hidden
    /// activations; each trainable batch norm selects batch or running statistics at run time
    /// (training or evaluation mode, as in `FineTuning`) and updates nothing; no dropout. A
    /// graph of its own so that `forward` and the training step are not slowed by it.
    Inspection,
}

impl Mode {
    /// Whether the graph trains (computes a loss, gradients and updates).
    pub fn is_training(self) -> bool {
        matches!(self, Mode::Training | Mode::FineTuning)
    }
}

/// The float type of a graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DType {
    /// 32-bit floats.
    F32,
    /// 64-bit floats.
    F64,
}

impl DType {
    /// `f32` / `f64`.
    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "f32",
            DType::F64 => "f64",
        }
    }
}

/// One node of the graph.
#[derive(Clone, Debug)]
pub struct Node {
    /// What it computes.
    pub op: Op,
    /// Its result's shape.
    pub shape: Shape,
    /// The declared layer it belongs to (`fc1`), or `None` for the network's own nodes.
    pub layer: Option<String>,
    /// A name for what it is (`bn1.mean`, `fc1.dweight`), shown by the printer and used by
    /// codegen for its buffer; most nodes have none.
    pub label: Option<String>,
    /// Which pass family made it.
    pub phase: Phase,
    /// The declaration it came from, for error messages.
    pub span: Span,
    /// The fused kernel it belongs to, if a fusion pass grouped it.
    pub group: Option<u32>,
}

/// A named result of the graph that generated code reads.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Output {
    /// The network's output (inference).
    Prediction,
    /// The mean loss of the batch.
    Loss,
    /// The gradient of a trainable parameter, by weights-file name.
    Grad(String),
    /// The output of the declared layer at `index` (inspection).
    Layer {
        /// The layer's position in the declaration.
        index: usize,
        /// Its name.
        name: String,
    },
}

impl std::fmt::Display for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Output::Prediction => write!(f, "prediction"),
            Output::Loss => write!(f, "loss"),
            Output::Grad(name) => write!(f, "grad {name}"),
            Output::Layer { name, .. } => write!(f, "layer {name}"),
        }
    }
}

/// The graph IR of one compiled function (inference, or the whole training step).
#[derive(Clone, Debug)]
pub struct Graph {
    /// A title for printing (`DigitNet.train`).
    pub name: String,
    /// The float type.
    pub dtype: DType,
    /// The function it computes.
    pub mode: Mode,
    inner: StableDiGraph<Node, u8, u32>,
    outputs: BTreeMap<Output, NodeId>,
    schedule: Option<Vec<NodeId>>,
    /// Parameter nodes by name, so looking one up does not scan the graph.
    params: BTreeMap<String, NodeId>,
}

impl Graph {
    /// An empty graph.
    pub fn new(name: impl Into<String>, dtype: DType, mode: Mode) -> Self {
        let (inner, outputs, schedule) = (StableDiGraph::default(), BTreeMap::new(), None);
        Graph { name: name.into(), dtype, mode, inner, outputs, schedule, params: BTreeMap::new() }
    }

    /// Adds a leaf (input, labels, targets, parameter) of the given shape.
    pub fn add_leaf(&mut self, op: Op, shape: Shape, layer: Option<String>, span: Span) -> NodeId {
        debug_assert!(op.is_leaf());
        self.schedule = None;
        let name = if let Op::Param { name, .. } = &op { Some(name.clone()) } else { None };
        let id = self.inner.add_node(Node { op, shape, layer, label: None, phase: Phase::Forward, span, group: None });
        if let Some(name) = name {
            self.params.insert(name, id);
        }
        id
    }

    /// Adds `op` over `operands`, inferring its shape; fails (at `span`) if the shapes do not fit.
    pub fn add(
        &mut self,
        op: Op,
        operands: &[NodeId],
        layer: Option<String>,
        phase: Phase,
        span: Span,
    ) -> syn::Result<NodeId> {
        let shapes: Vec<&Shape> = operands.iter().map(|&o| &self.inner[o].shape).collect();
        let shape = infer::infer(&op, &shapes, None).map_err(|why| syn::Error::new(span, format!("gradc: {why}")))?;
        self.schedule = None;
        let id = self.inner.add_node(Node { op, shape, layer, label: None, phase, span, group: None });
        for (position, &operand) in operands.iter().enumerate() {
            self.inner.add_edge(operand, id, position as u8);
        }
        Ok(id)
    }

    /// Adds `op` over `operands` with the layer and span of `like` and the given phase.
    pub fn add_like(&mut self, like: NodeId, phase: Phase, op: Op, operands: &[NodeId]) -> syn::Result<NodeId> {
        let (layer, span) = (self.inner[like].layer.clone(), self.inner[like].span);
        self.add(op, operands, layer, phase, span)
    }

    /// Names node `id` (see [`Node::label`]).
    pub fn set_label(&mut self, id: NodeId, label: impl Into<String>) {
        self.inner[id].label = Some(label.into());
    }

    /// The node `id`.
    pub fn node(&self, id: NodeId) -> &Node {
        &self.inner[id]
    }

    /// Whether `id` names a live node.
    pub fn contains(&self, id: NodeId) -> bool {
        self.inner.contains_node(id)
    }

    /// The op of node `id`.
    pub fn op(&self, id: NodeId) -> &Op {
        &self.inner[id].op
    }

    /// The shape of node `id`.
    pub fn shape(&self, id: NodeId) -> &Shape {
        &self.inner[id].shape
    }

    /// All live nodes, in increasing id order (creation order).
    pub fn node_ids(&self) -> Vec<NodeId> {
        let mut ids: Vec<NodeId> = self.inner.node_indices().collect();
        ids.sort();
        ids
    }

    /// Number of live nodes.
    pub fn len(&self) -> usize {
        self.inner.node_count()
    }

    /// Whether the graph has no nodes.
    pub fn is_empty(&self) -> bool {
        self.inner.node_count() == 0
    }

    /// The operands of `id`, in order.
    pub fn operands(&self, id: NodeId) -> Vec<NodeId> {
        let mut edges: Vec<(u8, NodeId)> =
            self.inner.edges_directed(id, Direction::Incoming).map(|e| (*e.weight(), e.source())).collect();
        edges.sort();
        edges.into_iter().map(|(_, n)| n).collect()
    }

    /// The two operands of `id` if it is the binary elementwise op `kind` (for pattern rules).
    pub fn binary_operands(&self, id: NodeId, kind: Binary) -> Option<(NodeId, NodeId)> {
        (self.inner[id].op == Op::Binary(kind)).then(|| {
            let operands = self.operands(id);
            (operands[0], operands[1])
        })
    }

    /// Whether `sum` is a per-feature sum (over every axis but the feature axis 1) of `x`.
    pub fn is_per_feature_sum_of(&self, sum: NodeId, x: NodeId) -> bool {
        matches!(self.op(sum), Op::Sum { axes } if self.shape(x).per_feature_axes() == Some(*axes))
            && self.operands(sum)[0] == x
    }

    /// If `mean` is the per-feature mean `Σx · (1/n)` of some `x` (n the values per feature in
    /// the batch: B, or B·H·W for images, as lowering writes it), its sum and `x`.
    pub fn per_feature_mean(&self, mean: NodeId) -> Option<(NodeId, NodeId)> {
        let (sum, scale) = self.binary_operands(mean, Binary::Mul)?;
        let x = *self.operands(sum).first()?;
        let features = *self.shape(x).0.get(1)?;
        let per_example = match features {
            Dim::Fixed(f) if f > 0 => self.shape(x).fixed_numel() / f,
            _ => return None,
        };
        let is_mean = matches!(self.op(scale), Op::Const(c) if c.per_batch && c.value.0 == 1.0 / per_example as f64);
        (is_mean && self.is_per_feature_sum_of(sum, x)).then_some((sum, x))
    }

    /// The nodes that read `id`, each once, in id order.
    pub fn users(&self, id: NodeId) -> Vec<NodeId> {
        let users: BTreeSet<NodeId> = self.inner.neighbors_directed(id, Direction::Outgoing).collect();
        users.into_iter().collect()
    }

    /// Makes every reader of `old` (and every output naming it) read `new` instead.
    pub fn replace_uses(&mut self, old: NodeId, new: NodeId) {
        if old == new {
            return;
        }
        let uses: Vec<_> =
            self.inner.edges_directed(old, Direction::Outgoing).map(|e| (e.id(), e.target(), *e.weight())).collect();
        for (edge, user, position) in uses {
            self.inner.remove_edge(edge);
            self.inner.add_edge(new, user, position);
        }
        for target in self.outputs.values_mut() {
            if *target == old {
                *target = new;
            }
        }
        self.schedule = None;
    }

    /// Makes `user` read `new` as its operand `position` (other readers of the old operand
    /// are unchanged).
    pub fn set_operand(&mut self, user: NodeId, position: usize, new: NodeId) {
        let edge = self
            .inner
            .edges_directed(user, Direction::Incoming)
            .find(|e| usize::from(*e.weight()) == position)
            .map(|e| e.id())
            .expect("the operand exists");
        self.inner.remove_edge(edge);
        self.inner.add_edge(new, user, position as u8);
        self.schedule = None;
    }

    /// Removes node `id` and its edges.
    pub fn remove(&mut self, id: NodeId) {
        if let Some(Node { op: Op::Param { name, .. }, .. }) = self.inner.node_weight(id)
            && self.params.get(name) == Some(&id)
        {
            let name = name.clone();
            self.params.remove(&name);
        }
        self.inner.remove_node(id);
        self.schedule = None;
    }

    /// Names `id` as the output `output`.
    pub fn set_output(&mut self, output: Output, id: NodeId) {
        self.outputs.insert(output, id);
    }

    /// The node of output `output`.
    pub fn output(&self, output: &Output) -> Option<NodeId> {
        self.outputs.get(output).copied()
    }

    /// All outputs, ordered.
    pub fn outputs(&self) -> impl Iterator<Item = (&Output, NodeId)> {
        self.outputs.iter().map(|(o, &n)| (o, n))
    }

    /// A topological order that prefers lower ids: deterministic, and close to creation order.
    /// (Kahn's algorithm as [`kahn`] with the priority `Reverse(id)`, on the graph's own
    /// adjacency: every pass and the verifier ask for it, so it avoids building edge sets.)
    pub fn topological_order(&self) -> Vec<NodeId> {
        let mut waiting = vec![0usize; petgraph::visit::NodeIndexable::node_bound(&self.inner)];
        for e in self.inner.edge_references() {
            waiting[e.target().index()] += 1;
        }
        let mut ready: BinaryHeap<Reverse<NodeId>> =
            self.inner.node_indices().filter(|n| waiting[n.index()] == 0).map(Reverse).collect();
        let mut order = Vec::with_capacity(self.inner.node_count());
        while let Some(Reverse(n)) = ready.pop() {
            order.push(n);
            for user in self.inner.neighbors_directed(n, Direction::Outgoing) {
                waiting[user.index()] -= 1;
                if waiting[user.index()] == 0 {
                    ready.push(Reverse(user));
                }
            }
        }
        order
    }

    /// The execution order fixed by the schedule pass, if it ran since the last change.
    pub fn schedule(&self) -> Option<&[NodeId]> {
        self.schedule.as_deref()
    }

    /// Fixes the execution order (the schedule pass).
    pub fn set_schedule(&mut self, order: Vec<NodeId>) {
        self.schedule = Some(order);
    }

    /// The schedule, or a topological order if there is none.
    pub fn order(&self) -> Vec<NodeId> {
        self.schedule.clone().unwrap_or_else(|| self.topological_order())
    }

    /// Every node from which `roots` can be reached (the roots included).
    pub fn ancestors(&self, roots: impl IntoIterator<Item = NodeId>) -> BTreeSet<NodeId> {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<NodeId> = roots.into_iter().collect();
        while let Some(n) = stack.pop() {
            if seen.insert(n) {
                stack.extend(self.inner.neighbors_directed(n, Direction::Incoming));
            }
        }
        seen
    }

    /// Puts `id` in fused group `group` (or takes it out).
    pub fn set_group(&mut self, id: NodeId, group: Option<u32>) {
        self.inner[id].group = group;
        self.schedule = None;
    }

    /// The fused groups and their members, in id order.
    pub fn groups(&self) -> BTreeMap<u32, Vec<NodeId>> {
        let mut groups: BTreeMap<u32, Vec<NodeId>> = BTreeMap::new();
        for n in self.node_ids() {
            if let Some(g) = self.inner[n].group {
                groups.entry(g).or_default().push(n);
            }
        }
        groups
    }

    /// Whether contracting every fused group to one node leaves the graph acyclic (a group
    /// runs as one kernel, so it cannot both feed and wait for another unit).
    pub fn groups_are_acyclic(&self) -> bool {
        // Kahn's algorithm over the contracted graph, on arrays indexed by unit: this runs
        // after every pass, and sets of units and edges made it a tenth of W3's expansion.
        use petgraph::visit::NodeIndexable;
        let mut unit_of = vec![usize::MAX; self.inner.node_bound()];
        let mut group_unit: BTreeMap<u32, usize> = BTreeMap::new();
        let mut units = 0;
        for n in self.inner.node_indices() {
            let unit = match self.inner[n].group {
                Some(g) => *group_unit.entry(g).or_insert(units),
                None => units,
            };
            units = units.max(unit + 1);
            unit_of[n.index()] = unit;
        }
        let mut successors = vec![Vec::new(); units];
        let mut waiting_for = vec![0usize; units];
        for e in self.inner.edge_references() {
            let (from, to) = (unit_of[e.source().index()], unit_of[e.target().index()]);
            if from != to {
                successors[from].push(to);
                waiting_for[to] += 1;
            }
        }
        let mut ready: Vec<usize> = (0..units).filter(|&u| waiting_for[u] == 0).collect();
        let mut done = 0;
        while let Some(u) = ready.pop() {
            done += 1;
            for &v in &successors[u] {
                waiting_for[v] -= 1;
                if waiting_for[v] == 0 {
                    ready.push(v);
                }
            }
        }
        done == units
    }

    /// The parameter node called `name`.
    pub fn param(&self, name: &str) -> Option<NodeId> {
        self.params.get(name).copied()
    }
}
