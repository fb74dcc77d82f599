//! A fused group as one kernel: the GEMM head, then passes over the `[B, n]` rows (or the
//! `[B, C, H, W]` images: a row is then an example, a column a channel, with an inner loop
//! over the channel's pixels).
//!
//! Every member gets the pass (stage) where its value can first be computed: a row value
//! in the pass of its latest input; a row sum is complete only after its pass, so what reads
//! it waits for the next one; per-column values are computed between passes. Row values are
//! recomputed wherever they are needed and written only if something outside the group reads
//! them, so each pass reads its inputs once.

use std::collections::{BTreeMap, BTreeSet};

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

use super::column_blocks::{self, RowBindings};
use super::kernel::{Kernel, Scratch, ScratchKind, columns_per_example, float, float_type, usize_lit, window};
use super::names::{Names, ident, snake};
use super::scalar;
use crate::ir::{Dim, Graph, NodeId, Op};

/// Most written buffers a striped kernel has (`split::MAX_STRIPED_BUFFERS` in the runtime).
const STRIPED_BUFFERS_MAX: usize = 16;

/// Whether the members' values must be written to a buffer: read outside the group, or
/// named as a graph output, or the GEMM head.
pub fn stored_members(graph: &Graph, members: &[NodeId], names: &Names) -> BTreeSet<NodeId> {
    let set: BTreeSet<NodeId> = members.iter().copied().collect();
    members
        .iter()
        .copied()
        .filter(|&m| graph.op(m).is_product() || names.is_output(m) || graph.users(m).iter().any(|u| !set.contains(u)))
        .collect()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Head,
    Row,
    Column,
    RowSum,
}

struct Fused<'a> {
    graph: &'a Graph,
    names: &'a Names,
    /// The rows have one column: index by the row alone, and loop over no columns.
    single_column: bool,
    /// Pixels per channel (1 for `[B, n]` rows).
    pixels: usize,
    /// In an image pass, the buffers read or written per element, each sliced to the current
    /// channel plane before the pixel loop (so the loop indexes `plane[p]`, which needs no
    /// bounds check): buffer, plane name, written.
    planes: BTreeMap<Ident, (Ident, bool)>,
    set: BTreeSet<NodeId>,
    kind: BTreeMap<NodeId, Kind>,
    /// The name a member's storage has inside the kernel (stored: its out slice).
    storage: BTreeMap<NodeId, Ident>,
    /// Names of external operands inside the kernel.
    external: BTreeMap<NodeId, Ident>,
    uses_batch: bool,
    uses_row_index: bool,
    /// The row index `r` is used (striped writes need it without the flat index `i`).
    uses_row: bool,
    /// The passes run inside `split::columns`: written buffers are stripes of columns
    /// `c0..`, indexed `c - c0`, a row's stripe bound as `<buffer>_row` per row.
    striped: bool,
    /// Members stored in a buffer (written through their stripe when `striped`).
    stored: BTreeSet<NodeId>,
    /// Buffers written per row in the current pass (striped): their row stripes to bind.
    rows_written: BTreeSet<Ident>,
    /// `[B, n]` rows (neither images nor a single column): every loop runs `j` over the
    /// `len` columns from `c0` (a thread's stripe, or all of them), and every buffer is
    /// sliced to those columns first, so that no index needs a bounds check and the loops
    /// vectorize.
    dense: bool,
    /// Buffers read per row in the current pass (dense): their rows to bind.
    rows_read: BTreeSet<Ident>,
    /// Per-column inputs read (dense): sliced to the columns once.
    columns_read: BTreeSet<Ident>,
}

/// A binding cache for one loop body: row values computed so far.
struct Body {
    lets: Vec<TokenStream>,
    bound: BTreeMap<NodeId, Ident>,
}

impl Fused<'_> {
    /// The index of the current column (`c`, or `0` with a single column).
    fn column(&self) -> TokenStream {
        match (self.single_column, self.dense) {
            (true, _) => quote!(0),
            (false, true) => quote!(j),
            (false, false) => quote!(c),
        }
    }

    /// The flat index of the current element (`i`, or the row `r` with a single column).
    fn element(&mut self) -> TokenStream {
        self.uses_row_index = true;
        if self.single_column { quote!(r) } else { quote!(i) }
    }

    /// `buffer` at the current element: `buffer[i]`, or in an image pass `plane[p]` of its
    /// channel plane.
    fn at(&mut self, buffer: &Ident, written: bool) -> TokenStream {
        if self.dense {
            // The row loop binds this row's columns of the buffer.
            self.uses_row = true;
            let row = format_ident!("{}_row", buffer);
            match written {
                true => self.rows_written.insert(buffer.clone()),
                false => self.rows_read.insert(buffer.clone()),
            };
            return quote!(#row[j]);
        }
        if self.striped && written {
            // The row loop binds this row's stripe of the buffer.
            self.uses_row = true;
            let row = format_ident!("{}_row", buffer);
            self.rows_written.insert(buffer.clone());
            return quote!(#row[c - c0]);
        }
        if self.pixels == 1 {
            let i = self.element();
            return quote!(#buffer[#i]);
        }
        self.uses_row_index = true;
        let plane = format_ident!("{}_plane", buffer);
        let entry = self.planes.entry(buffer.clone()).or_insert((plane.clone(), false));
        entry.1 |= written;
        quote!(#plane[p])
    }

    /// The value of `o` at element `(r, c)` (`i` is the flat index), binding row values.
    fn value(&mut self, o: NodeId, body: &mut Body) -> TokenStream {
        let graph = self.graph;
        if let Op::Const(c) = graph.op(o) {
            let v = float(c.number_value(), graph.dtype);
            if c.per_batch {
                self.uses_batch = true;
                let t = float_type(graph.dtype);
                return quote!((#v / batch as #t));
            }
            return v;
        }
        let in_group = self.set.contains(&o) && self.kind[&o] != Kind::Head;
        if !in_group {
            let name = self.external[&o].clone();
            return match graph.shape(o).0.as_slice() {
                [Dim::Batch, ..] => self.at(&name, false),
                _ if graph.shape(o).is_single() => quote!(#name[0]),
                _ => {
                    if self.dense {
                        self.columns_read.insert(name.clone());
                    }
                    let c = self.column();
                    quote!(#name[#c])
                }
            };
        }
        match self.kind[&o] {
            Kind::Column | Kind::RowSum => self.column_slot(o),
            Kind::Head => unreachable!("handled above"),
            Kind::Row => {
                if let Some(b) = body.bound.get(&o) {
                    return quote!(#b);
                }
                let expr = match graph.op(o) {
                    Op::Broadcast { .. } => self.value(graph.operands(o)[0], body),
                    _ => self.elementwise(o, body),
                };
                let name = self.names.row_local(o);
                body.lets.push(quote!(let #name = #expr;));
                body.bound.insert(o, name.clone());
                quote!(#name)
            }
        }
    }

    /// Every per-column slice a dense kernel's passes index by `j`: its column members'
    /// storage and the per-column inputs read so far.
    fn column_slices(&self) -> Vec<Ident> {
        let members = self.kind.iter().filter(|(_, k)| matches!(k, Kind::Column | Kind::RowSum));
        members.map(|(m, _)| self.storage[m].clone()).chain(self.columns_read.iter().cloned()).collect()
    }

    /// The storage of a per-column member at the current column: a column local `s[c]`, or
    /// a stored buffer, which in a striped kernel is the stripe `s[c - c0]`.
    fn column_slot(&self, m: NodeId) -> TokenStream {
        let (s, c) = (&self.storage[&m], self.column());
        if self.striped && self.stored.contains(&m) && !self.dense { quote!(#s[c - c0]) } else { quote!(#s[#c]) }
    }

    /// The expression of an elementwise member (or the first row, a column) from its
    /// operands' values.
    fn elementwise(&mut self, m: NodeId, body: &mut Body) -> TokenStream {
        let graph = self.graph;
        let operands = graph.operands(m);
        match graph.op(m).clone() {
            // Example 0 (and pixel 0) of a stored input: its element of feature c is at
            // c·pixels.
            Op::First { .. } => {
                let (name, c) = (&self.external[&operands[0]], self.column());
                match self.pixels {
                    1 if self.dense => quote!(#name[c0 + j]),
                    1 => quote!(#name[#c]),
                    pixels => {
                        let pixels = usize_lit(pixels);
                        quote!(#name[#c * #pixels])
                    }
                }
            }
            Op::Unary(u) => {
                let a = self.value(operands[0], body);
                scalar::unary(u, graph.dtype, a)
            }
            Op::Binary(b) => {
                let a = self.value(operands[0], body);
                let bb = self.value(operands[1], body);
                scalar::binary(b, graph.dtype, a, bb)
            }
            other => unreachable!("not elementwise: {}", other.mnemonic()),
        }
    }
}

/// Builds the kernel of a fused group. `members` are in schedule order; `name` is the
/// kernel's name; `lines` the IR lines for the doc; `names` the graph's buffer names.
pub fn fused_kernel(
    graph: &Graph,
    members: &[NodeId],
    name: &str,
    lines: &BTreeMap<NodeId, String>,
    names: &Names,
) -> Kernel {
    let t = float_type(graph.dtype);
    let k = quote!(rt::kernels);
    let set: BTreeSet<NodeId> = members.iter().copied().collect();
    let stored = stored_members(graph, members, names);
    let head = members.iter().copied().find(|&m| graph.op(m).is_product());
    // Features (columns, or channels) and pixels per channel of the group's iteration space.
    let spaces: Vec<(usize, Option<usize>)> = members
        .iter()
        .filter(|&&m| Some(m) != head)
        .filter_map(|&m| match graph.op(m) {
            Op::Sum { .. } => graph.shape(graph.operands(m)[0]).feature_space(),
            _ => graph.shape(m).feature_space(),
        })
        .collect();
    let width = spaces.first().map(|s| s.0).expect("fused groups have a fixed width");
    let pixels = spaces.iter().find_map(|s| s.1).unwrap_or(1);
    let kind: BTreeMap<NodeId, Kind> = members
        .iter()
        .map(|&m| {
            let kind = match graph.op(m) {
                op if op.is_product() => Kind::Head,
                Op::Sum { .. } => Kind::RowSum,
                _ if graph.shape(m).has_batch() => Kind::Row,
                _ => Kind::Column,
            };
            (m, kind)
        })
        .collect();

    // Stages: when each value is first available.
    let mut avail: BTreeMap<NodeId, usize> = BTreeMap::new();
    let mut stage: BTreeMap<NodeId, usize> = BTreeMap::new();
    for &m in members {
        let from_operands = graph
            .operands(m)
            .iter()
            .map(|o| if kind.get(o).is_some_and(|k| *k != Kind::Head) { avail[o] } else { 0 })
            .max()
            .unwrap_or(0);
        match kind[&m] {
            Kind::Head => {
                avail.insert(m, 0);
            }
            Kind::Row | Kind::Column => {
                stage.insert(m, from_operands);
                avail.insert(m, from_operands);
            }
            Kind::RowSum => {
                stage.insert(m, from_operands);
                avail.insert(m, from_operands + 1);
            }
        }
    }
    let passes = members
        .iter()
        .filter(|m| matches!(kind[m], Kind::RowSum) || (kind[m] == Kind::Row && stored.contains(m)))
        .map(|m| stage[m] + 1)
        .max()
        .unwrap_or(0);

    // Parameters: external inputs (shared), then stored members (written).
    let mut external: BTreeMap<NodeId, Ident> = BTreeMap::new();
    let (mut params, mut args) = (Vec::new(), Vec::new());
    for (o, param_name, arg) in outside_operands(graph, members, &set, names) {
        let elem = if graph.op(o).is_index() { quote!(usize) } else { t.clone() };
        params.push(quote!(#param_name: &[#elem]));
        args.push(arg);
        external.insert(o, param_name);
    }
    let mut storage: BTreeMap<NodeId, Ident> = BTreeMap::new();
    let mut locals = Vec::new();
    let dense = width > 1 && pixels == 1;
    for &m in members {
        if stored.contains(&m) {
            let field = ident(names.buffer(m));
            params.push(quote!(#field: &mut [#t]));
            args.push(stored_argument(&field));
            storage.insert(m, field.clone());
            if kind[&m] == Kind::RowSum {
                locals.push(quote!(#field.fill(0.0);));
            }
        } else if matches!(kind[&m], Kind::Column | Kind::RowSum) {
            let local = names.column_local(m);
            let n = usize_lit(width);
            locals.push(quote!(let mut #local: [#t; #n] = [0.0; #n];));
            if dense {
                locals.push(quote!(let #local = &mut #local[c0..c0 + len];));
            }
            storage.insert(m, local);
        }
    }
    // Dense passes run on stripes of columns across the threads (images and single columns
    // run on the calling thread).
    let written: Vec<NodeId> = members.iter().copied().filter(|m| stored.contains(m) && Some(*m) != head).collect();
    let striped = width > 1 && pixels == 1 && passes > 0 && written.len() <= STRIPED_BUFFERS_MAX;
    let mut fused = Fused {
        graph,
        names,
        single_column: width == 1 && pixels == 1,
        pixels,
        planes: BTreeMap::new(),
        set: set.clone(),
        kind: kind.clone(),
        storage,
        external,
        uses_batch: false,
        uses_row_index: false,
        uses_row: false,
        striped,
        stored: stored.clone(),
        rows_written: BTreeSet::new(),
        dense,
        rows_read: BTreeSet::new(),
        columns_read: BTreeSet::new(),
    };

    // The head product writes its buffer first; the passes read it as an external input.
    let mut body = Vec::new();
    let mut scratch = None;
    if let Some(h) = head
        && let Op::Conv2d(w) | Op::Conv2dGradInput(w) = graph.op(h)
    {
        let out = fused.storage[&h].clone();
        fused.external.insert(h, out.clone());
        let ops = graph.operands(h);
        let f = if matches!(graph.op(h), Op::Conv2d(_)) { quote!(conv2d) } else { quote!(conv2d_grad_input) };
        let (window, a, b) = (window(w), &fused.external[&ops[0]], &fused.external[&ops[1]]);
        let field = ident(&format!("{name}_columns"));
        params.push(quote!(columns: &mut [#t]));
        args.push(quote!(&mut buffers.#field));
        let per_example = columns_per_example(graph.op(h)).expect("a convolution");
        scratch = Some(Scratch { field, per_example, kind: ScratchKind::Columns });
        body.push(quote!(rt::conv::#f(#window, #a, #b, #out, columns);));
    } else if let Some(h) = head {
        let out = fused.storage[&h].clone();
        fused.external.insert(h, out.clone());
        let ops = graph.operands(h);
        let Op::MatMul { transpose_a, transpose_b } = *graph.op(h) else { unreachable!("a product") };
        let dims = |shape: &crate::ir::Shape, tr: bool| {
            let (r, c) = (shape.0[0], shape.0[1]);
            if tr { (c, r) } else { (r, c) }
        };
        let (m, kk) = dims(graph.shape(ops[0]), transpose_a);
        let (_, nn) = dims(graph.shape(ops[1]), transpose_b);
        let dim = |d: Dim, uses: &mut bool| match d {
            Dim::Batch => {
                *uses = true;
                quote!(batch)
            }
            Dim::Fixed(n) => {
                let n = usize_lit(n);
                quote!(#n)
            }
        };
        let mut uses = false;
        let (m, kk, nn) = (dim(m, &mut uses), dim(kk, &mut uses), dim(nn, &mut uses));
        fused.uses_batch |= uses;
        let (a, b) = (&fused.external[&ops[0]], &fused.external[&ops[1]]);
        body.push(quote!(#k::matmul(#m, #kk, #nn, #a, #transpose_a, #b, #transpose_b, #out);));
    }
    let head_body = std::mem::take(&mut body);
    body.extend(locals);
    let n = usize_lit(width);
    let column_range = match (dense, striped) {
        (true, _) => quote!(0..len),
        (false, true) => quote!(cols.clone()),
        (false, false) => quote!(0..#n),
    };
    let column = if dense { quote!(j) } else { quote!(c) };
    for boundary in 0..=passes {
        // Per-column values that become available before this pass.
        let columns: Vec<NodeId> =
            members.iter().copied().filter(|m| kind[m] == Kind::Column && stage[m] == boundary).collect();
        if !columns.is_empty() {
            let mut inner = Body { lets: vec![], bound: BTreeMap::new() };
            let mut statements = Vec::new();
            for m in columns {
                let expr = fused.elementwise(m, &mut inner);
                let slot = fused.column_slot(m);
                statements.push(quote!(#slot = #expr;));
            }
            let lets = inner.lets;
            body.push(match fused.single_column {
                true => quote!({ #(#lets)* #(#statements)* }),
                false => quote!(for #column in #column_range { #(#lets)* #(#statements)* }),
            });
        }
        if boundary == passes {
            break;
        }
        // One pass over the rows: stored row values and row sums of this stage.
        let mut inner = Body { lets: vec![], bound: BTreeMap::new() };
        let mut statements = Vec::new();
        let mut sums = Vec::new();
        for &m in members {
            let in_stage = stage.get(&m) == Some(&boundary);
            match kind[&m] {
                Kind::Row if in_stage && stored_row(&fused, m, &stored) => {
                    let v = fused.value(m, &mut inner);
                    let target = fused.at(&fused.storage[&m].clone(), true);
                    statements.push(quote!(#target = #v;));
                }
                Kind::RowSum if in_stage => {
                    let v = fused.value(graph.operands(m)[0], &mut inner);
                    let slot = fused.column_slot(m);
                    statements.push(quote!(#slot += #v;));
                    sums.push(fused.storage[&m].clone());
                }
                _ => {}
            }
        }
        fused.uses_batch = true;
        let lets = inner.lets;
        let reads_rows = std::mem::take(&mut fused.uses_row_index);
        let uses_row = std::mem::take(&mut fused.uses_row) || reads_rows;
        let row = if uses_row { quote!(r) } else { quote!(_r) };
        // This pass's rows, written and read (the next pass starts with none).
        let rows_written = std::mem::take(&mut fused.rows_written);
        let rows_read = std::mem::take(&mut fused.rows_read);
        let mut row_stripes: Vec<TokenStream> = rows_written
            .iter()
            .map(|buffer| {
                let name = format_ident!("{}_row", buffer);
                match (dense, striped) {
                    (true, true) => quote!(let #name = &mut #buffer.row(r)[..len];),
                    (true, false) => quote!(let #name = &mut #buffer[r * #n + c0..][..len];),
                    (false, _) => quote!(let #name = #buffer.row(r);),
                }
            })
            .collect();
        row_stripes.extend(rows_read.iter().map(|buffer| {
            let name = format_ident!("{}_row", buffer);
            quote!(let #name = &#buffer[r * #n + c0..][..len];)
        }));
        body.push(match (fused.single_column, fused.pixels) {
            (true, _) => quote! {
                for #row in 0..batch {
                    #(#lets)*
                    #(#statements)*
                }
            },
            (false, pixels) if pixels > 1 => {
                // Images: example r, channel c, pixel p of the channel's plane.
                let p = usize_lit(pixels);
                let planes = std::mem::take(&mut fused.planes);
                let slices = planes.iter().map(|(buffer, (plane, written))| match written {
                    true => quote!(let #plane = &mut #buffer[base..base + #p];),
                    false => quote!(let #plane = &#buffer[base..base + #p];),
                });
                let (base, pixel) = match planes.is_empty() {
                    true => (quote!(), quote!(_p)),
                    false => (quote!(let base = (r * #n + c) * #p;), quote!(p)),
                };
                quote! {
                    for #row in 0..batch {
                        for c in 0..#n {
                            #base
                            #(#slices)*
                            for #pixel in 0..#p {
                                #(#lets)*
                                #(#statements)*
                            }
                        }
                    }
                }
            }
            (false, _) if dense && column_blocks::blocks(width, &sums) => {
                let pass = quote!(#(#lets)* #(#statements)*);
                let rows = RowBindings { written: &rows_written, read: &rows_read, striped, width };
                column_blocks::blocked_pass(&pass, &sums, &fused.column_slices(), &rows)
            }
            (false, _) if dense => quote! {
                for #row in 0..batch {
                    #(#row_stripes)*
                    for j in 0..len {
                        #(#lets)*
                        #(#statements)*
                    }
                }
            },
            (false, _) => {
                let index = if reads_rows { quote!(let i = r * #n + c;) } else { quote!() };
                quote! {
                    for #row in 0..batch {
                        #(#row_stripes)*
                        for c in #column_range {
                            #index
                            #(#lets)*
                            #(#statements)*
                        }
                    }
                }
            }
        });
    }
    // The columns a dense kernel's loops cover, and its buffers sliced to them.
    let mut prelude = Vec::new();
    if dense {
        let columns_read = std::mem::take(&mut fused.columns_read);
        prelude.extend(columns_read.iter().map(|name| quote!(let #name = &#name[c0..c0 + len];)));
        prelude.extend(written.iter().filter(|m| kind[*m] != Kind::Row).map(|m| {
            let s = &fused.storage[m];
            match striped {
                true => quote!(let #s = &mut #s.row(0)[..len];),
                false => quote!(let #s = &mut #s[c0..c0 + len];),
            }
        }));
        // Bound only where used (an unused binding would warn in the user's crate).
        let uses = |name: &str| prelude.iter().chain(&body).any(|t| mentions(t.clone(), name));
        let (c0, len) = match striped {
            true => (quote!(cols.start), quote!(cols.len())),
            false => (quote!(0usize), quote!(#n)),
        };
        let len = uses("len").then(|| quote!(let len: usize = #len;));
        let c0 = uses("c0").then(|| quote!(let c0: usize = #c0;));
        prelude.splice(0..0, c0.into_iter().chain(len));
    }
    if striped {
        // Columns are independent from here on (a row sum runs down its column): each
        // thread takes a stripe of them, with its stripe of every written buffer.
        let passes_body = std::mem::take(&mut body);
        let buffers: Vec<&Ident> = written.iter().map(|m| &fused.storage[m]).collect();
        let head_read = head.map(|h| {
            let out = &fused.external[&h];
            quote!(let #out = &*#out;)
        });
        fused.uses_batch = true;
        body = head_body;
        body.push(quote! {
            #head_read
            rt::split::columns(batch, #n, &mut [#(#buffers),*], &|cols, stripes| {
                let [#(#buffers),*] = stripes else { unreachable!("one stripe per written buffer") };
                #(#prelude)*
                #(#passes_body)*
            });
        });
    } else if dense {
        body = head_body.into_iter().chain(prelude).chain(body).collect();
    } else {
        body = head_body.into_iter().chain(body).collect();
    }
    let space = if pixels == 1 { format!("`[B, {width}]`") } else { format!("`[B, {width}]` × {pixels} pixels") };
    let mut summary = format!(" Fused kernel: {} node(s), {passes} pass(es) over {space}.", members.len());
    // The member lines join the summary in one attribute: an attribute per line is five
    // tokens more for rustc to take in (W3 written out had 6,351 of them).
    for m in members {
        summary.push_str("\n `");
        summary.push_str(&lines[m]);
        summary.push('`');
    }
    let fn_name = ident(name);
    let (batch_param, batch_arg) =
        if fused.uses_batch { (quote!(batch: usize,), quote!(batch,)) } else { (quote!(), quote!()) };
    let item = quote! {
        #[doc = #summary]
        #[allow(clippy::too_many_arguments)]
        fn #fn_name(#batch_param #(#params,)*) {
            #(#body)*
        }
    };
    let call = quote!(#fn_name(#batch_arg #(#args,)*););
    Kernel { item, call, uses_batch: fused.uses_batch, uses_rng: false, scratch }
}

/// The values a group reads from outside it, once each in the order its kernel takes them:
/// the node, the kernel's parameter name for it, and the argument its call passes.
fn outside_operands(
    graph: &Graph,
    members: &[NodeId],
    set: &BTreeSet<NodeId>,
    names: &Names,
) -> Vec<(NodeId, Ident, TokenStream)> {
    let mut outside: Vec<(NodeId, Ident, TokenStream)> = Vec::new();
    for &m in members {
        for o in graph.operands(m) {
            if set.contains(&o) || outside.iter().any(|e| e.0 == o) || matches!(graph.op(o), Op::Const(_)) {
                continue;
            }
            let (param_name, arg) = match graph.op(o) {
                Op::Input => (ident("x"), quote!(x)),
                Op::Targets => (ident("targets"), quote!(targets)),
                Op::Param { name, .. } => {
                    let index = super::names::param_const(name);
                    (format_ident!("param_{}", snake(name)), quote!(params.value(#index)))
                }
                Op::LayerTraining { layer } => {
                    (format_ident!("training_{}", snake(layer)), super::kernel::training_flag(graph, layer))
                }
                _ => {
                    let field = ident(names.buffer(o));
                    (field.clone(), quote!(&buffers.#field))
                }
            };
            outside.push((o, param_name, arg));
        }
    }
    outside
}

/// The argument for a stored member's buffer.
fn stored_argument(field: &Ident) -> TokenStream {
    quote!(&mut buffers.#field)
}

/// The call of a group's kernel named `name`, built without the kernel itself: for a group
/// whose code an earlier group's kernel already is (see `shared_kernels`), the arguments in
/// the order that kernel takes them. Not for groups headed by a convolution, whose kernel
/// also takes a workspace of its own.
pub fn fused_call(graph: &Graph, members: &[NodeId], name: &Ident, uses_batch: bool, names: &Names) -> TokenStream {
    let set: BTreeSet<NodeId> = members.iter().copied().collect();
    let stored = stored_members(graph, members, names);
    let outside = outside_operands(graph, members, &set, names).into_iter().map(|(_, _, arg)| arg);
    let written = members.iter().filter(|m| stored.contains(m)).map(|&m| stored_argument(&ident(names.buffer(m))));
    let batch = uses_batch.then(|| quote!(batch,));
    quote!(#name(#batch #(#outside,)* #(#written,)*);)
}

/// Whether `tokens` use the identifier `name`.
pub(super) fn mentions(tokens: TokenStream, name: &str) -> bool {
    tokens.into_iter().any(|tree| match tree {
        proc_macro2::TokenTree::Ident(i) => i == name,
        proc_macro2::TokenTree::Group(g) => mentions(g.stream(), name),
        _ => false,
    })
}

fn stored_row(fused: &Fused, m: NodeId, stored: &BTreeSet<NodeId>) -> bool {
    fused.kind[&m] == Kind::Row && stored.contains(&m)
}
