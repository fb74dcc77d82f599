//! Loading parameters into a network that differs from the one that saved them, the way
//! `load_state_dict(strict=False)` does in PyTorch: every tensor whose (mapped) name and shape
//! match is taken; everything else is reported, never silently skipped.
//!
//! The source is a safetensors file (saved by gradc or by PyTorch) or another network in
//! memory. A [`NameMap`] renames the source's tensors first (strip or replace a prefix, an
//! explicit table). Everything is checked before anything changes, so an `Err` leaves the
//! network as it was.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use safetensors::tensor::SafeTensors;

use crate::{Error, Float, ParamStore, Result};

/// Renames a source's tensors to the network's names: explicit renames first, then the
/// first prefix rule that matches; a name no rule touches stays as it is.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NameMap {
    renames: BTreeMap<String, String>,
    prefixes: Vec<(String, String)>,
}

impl NameMap {
    /// The identity.
    pub fn new() -> Self {
        Self::default()
    }

    /// Drops `prefix` from names that start with it (`"backbone."`: `backbone.fc1.weight` →
    /// `fc1.weight`).
    pub fn strip_prefix(self, prefix: &str) -> Self {
        self.replace_prefix(prefix, "")
    }

    /// Replaces the prefix `from` with `to` (`"features.0."` → `"conv1."`).
    pub fn replace_prefix(mut self, from: &str, to: &str) -> Self {
        self.prefixes.push((from.to_string(), to.to_string()));
        self
    }

    /// Renames the source tensor `from` to the network's `to`.
    pub fn rename(mut self, from: &str, to: &str) -> Self {
        self.renames.insert(from.to_string(), to.to_string());
        self
    }

    /// The network name for source name `name`.
    pub fn map(&self, name: &str) -> String {
        if let Some(to) = self.renames.get(name) {
            return to.clone();
        }
        for (from, to) in &self.prefixes {
            if let Some(rest) = name.strip_prefix(from.as_str()) {
                return format!("{to}{rest}");
            }
        }
        name.to_string()
    }
}

/// A tensor whose name matched but whose shape (or element type) did not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// The network's name for it.
    pub name: String,
    /// The shape the network has.
    pub expected: Vec<usize>,
    /// The shape the source has.
    pub found: Vec<usize>,
    /// Why it was not loaded (`"shape"`, or the element type).
    pub why: String,
}

/// What a non-strict load did, as PyTorch's `load_state_dict(strict=False)` reports it, plus
/// what it loaded and the shape mismatches (which PyTorch raises on; here they are reported
/// and the tensor is left as it was).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LoadReport {
    /// Network tensors that were loaded, in weights-file order.
    pub loaded: Vec<String>,
    /// Network tensors the source does not have (left as they were).
    pub missing: Vec<String>,
    /// Source tensors (by their mapped name) the network does not have.
    pub unexpected: Vec<String>,
    /// Tensors present on both sides whose shapes or element types differ (left as they were).
    pub mismatched: Vec<Mismatch>,
}

impl LoadReport {
    /// Whether every network tensor was loaded and every source tensor used.
    pub fn is_complete(&self) -> bool {
        self.missing.is_empty() && self.unexpected.is_empty() && self.mismatched.is_empty()
    }
}

impl fmt::Display for LoadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "loaded {} tensor(s)", self.loaded.len())?;
        let list = |names: &[String]| if names.is_empty() { "none".to_string() } else { names.join(", ") };
        writeln!(f, "missing (kept as they were): {}", list(&self.missing))?;
        writeln!(f, "unexpected (ignored): {}", list(&self.unexpected))?;
        write!(f, "mismatched (kept as they were): ")?;
        if self.mismatched.is_empty() {
            write!(f, "none")?;
        }
        for (i, m) in self.mismatched.iter().enumerate() {
            let sep = if i > 0 { ", " } else { "" };
            write!(f, "{sep}{} (network {:?}, source {:?}: {})", m.name, m.expected, m.found, m.why)?;
        }
        Ok(())
    }
}

/// One tensor of a source: its name there, its shape, its values as f64 (exact for f32, f64
/// and integer counts), or why they cannot be read.
pub(crate) struct SourceTensor {
    pub(crate) name: String,
    pub(crate) shape: Vec<usize>,
    pub(crate) values: std::result::Result<Vec<f64>, String>,
}

/// The tensors of a parsed safetensors file.
fn file_tensors(file: &SafeTensors<'_>) -> Vec<SourceTensor> {
    let mut names = file.names();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let tensor = file.tensor(name).expect("a listed name");
            let data = tensor.data();
            let values = match tensor.dtype() {
                safetensors::Dtype::F32 => {
                    Ok(data.chunks_exact(4).map(|b| f64::from(f32::from_le_bytes(b.try_into().expect("4")))).collect())
                }
                safetensors::Dtype::F64 => {
                    Ok(data.chunks_exact(8).map(|b| f64::from_le_bytes(b.try_into().expect("8"))).collect())
                }
                safetensors::Dtype::I64 => {
                    Ok(data.chunks_exact(8).map(|b| i64::from_le_bytes(b.try_into().expect("8")) as f64).collect())
                }
                other => Err(format!("element type {other:?}")),
            };
            SourceTensor { name: name.to_string(), shape: tensor.shape().to_vec(), values }
        })
        .collect()
}

/// The parameters of another network.
pub(crate) fn store_tensors<S: Float>(store: &ParamStore<S>) -> Vec<SourceTensor> {
    store
        .specs()
        .iter()
        .zip(store.values())
        .map(|(spec, values)| SourceTensor {
            name: spec.name.to_string(),
            shape: spec.shape.to_vec(),
            values: Ok(values.iter().map(|v| v.as_f64()).collect()),
        })
        .collect()
}

/// Loads every matching tensor of `source` into `store`; `origin` names the source in errors.
pub(crate) fn load_matching<T: Float>(
    store: &mut ParamStore<T>,
    source: Vec<SourceTensor>,
    map: &NameMap,
    origin: &str,
) -> Result<LoadReport> {
    let error = |why: String| Error::WeightsFile { path: origin.to_string(), why };
    let mut by_name: BTreeMap<String, SourceTensor> = BTreeMap::new();
    for tensor in source {
        let mapped = map.map(&tensor.name);
        if let Some(earlier) = by_name.get(&mapped) {
            return Err(error(format!(
                "`{}` and `{}` both map to `{mapped}`; give the name map a rule that tells them apart",
                earlier.name, tensor.name
            )));
        }
        by_name.insert(mapped, tensor);
    }
    let mut report = LoadReport::default();
    let mut new_values: Vec<Option<Vec<T>>> = vec![None; store.specs().len()];
    for (index, spec) in store.specs().iter().enumerate() {
        let Some(tensor) = by_name.remove(spec.name) else {
            report.missing.push(spec.name.to_string());
            continue;
        };
        let mismatch = |why: &str| Mismatch {
            name: spec.name.to_string(),
            expected: spec.shape.to_vec(),
            found: tensor.shape.clone(),
            why: why.to_string(),
        };
        match &tensor.values {
            Err(why) => report.mismatched.push(mismatch(why)),
            Ok(_) if tensor.shape != spec.shape => report.mismatched.push(mismatch("shape")),
            Ok(values) => {
                let converted: Vec<T> = values.iter().map(|&v| T::from_f64(v)).collect();
                if let Some(bad) = converted.iter().position(|v| !v.is_finite()) {
                    return Err(error(format!(
                        "tensor `{}` holds {} at flat index {bad}, which is not a finite {}",
                        tensor.name,
                        values[bad],
                        T::NAME
                    )));
                }
                new_values[index] = Some(converted);
                report.loaded.push(spec.name.to_string());
            }
        }
    }
    report.unexpected = by_name.into_keys().collect();
    for (index, value) in new_values.into_iter().enumerate() {
        if let Some(value) = value {
            store.value_mut(index).copy_from_slice(&value);
        }
    }
    Ok(report)
}

/// Loads the matching tensors of the safetensors file at `path` into `store`.
pub fn load_partial<T: Float>(store: &mut ParamStore<T>, path: &Path, map: &NameMap) -> Result<LoadReport> {
    let bytes = crate::weights::read_checked(path)?;
    let file = SafeTensors::deserialize(&bytes).map_err(|e| Error::WeightsFile {
        path: path.display().to_string(),
        why: format!("not a valid safetensors file ({e})"),
    })?;
    load_matching(store, file_tensors(&file), map, &path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_renames_win_over_prefixes_and_unmatched_names_stay() {
        let map = NameMap::new().strip_prefix("backbone.").replace_prefix("head.", "out.").rename("backbone.x", "y");
        assert_eq!(map.map("backbone.fc1.weight"), "fc1.weight");
        assert_eq!(map.map("head.bias"), "out.bias");
        assert_eq!(map.map("backbone.x"), "y");
        assert_eq!(map.map("other.weight"), "other.weight");
    }
}
