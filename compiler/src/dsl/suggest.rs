//! "Did you mean …?" for misspelled names: the closest known name by edit distance, if it is
//! close enough to be a likely typo (`rellu` → `relu`, `batchnorm` → `batch_norm`).

/// ` (did you mean `name`?)` for the candidate nearest to `given`, or an empty string.
pub fn did_you_mean<'a>(given: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    let given_lower = given.to_lowercase();
    // A typo changes at most about a third of a name (and at least one character).
    let limit = (given.chars().count() / 3).max(1);
    let close: Vec<(usize, &str)> = candidates
        .into_iter()
        .map(|c| (edit_distance(&given_lower, &c.to_lowercase()), c))
        .filter(|&(d, _)| d <= limit)
        .collect();
    let Some(best) = close.iter().map(|&(d, _)| d).min() else { return String::new() };
    // Two names equally close (`l3`: `l1` or `l2`?) suggest neither.
    match close.iter().filter(|&&(d, _)| d == best).collect::<Vec<_>>()[..] {
        [(_, name)] => format!(" (did you mean `{name}`?)"),
        _ => String::new(),
    }
}

/// Levenshtein distance (insertions, deletions, substitutions), over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, &cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitute.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let names = ["relu", "leaky_relu", "batch_norm", "dense", "sigmoid"];
        assert_eq!(did_you_mean("rellu", names), " (did you mean `relu`?)");
        assert_eq!(did_you_mean("batchnorm", names), " (did you mean `batch_norm`?)");
        assert_eq!(did_you_mean("Dense", names), " (did you mean `dense`?)");
        assert_eq!(did_you_mean("sigmod", names), " (did you mean `sigmoid`?)");
        assert_eq!(did_you_mean("conv3d", names), "");
        assert_eq!(did_you_mean("x", names), "");
        assert_eq!(did_you_mean("l3", ["l1", "l2", "l1_l2"]), "", "a tie suggests nothing");
    }

    #[test]
    fn edit_distance_counts_each_kind_of_edit() {
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }
}
