//! Kahn's algorithm, the one topological sort of the compiler: the graph's own order, the
//! schedule pass and the fused-group cycle check all use it.

use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

/// Orders `units` so that every edge `(from, to)` has `from` first, always taking the ready
/// unit with the largest `priority` next. A result shorter than `units` means a cycle.
pub fn kahn<U, K>(units: &BTreeSet<U>, edges: &BTreeSet<(U, U)>, priority: impl Fn(U) -> K) -> Vec<U>
where
    U: Copy + Ord,
    K: Ord,
{
    let mut successors: BTreeMap<U, Vec<U>> = BTreeMap::new();
    let mut waiting: BTreeMap<U, usize> = units.iter().map(|&u| (u, 0)).collect();
    for &(from, to) in edges {
        successors.entry(from).or_default().push(to);
        *waiting.get_mut(&to).expect("edges join listed units") += 1;
    }
    let mut ready: BinaryHeap<(K, U)> =
        waiting.iter().filter(|(_, count)| **count == 0).map(|(&u, _)| (priority(u), u)).collect();
    let mut order = Vec::with_capacity(units.len());
    while let Some((_, u)) = ready.pop() {
        order.push(u);
        for &next in successors.get(&u).into_iter().flatten() {
            let count = waiting.get_mut(&next).expect("listed unit");
            *count -= 1;
            if *count == 0 {
                ready.push((priority(next), next));
            }
        }
    }
    order
}
