//! Weights files: safetensors with the names and layouts of PyTorch's `state_dict`.
//!
//! `load` is strict, like `load_state_dict(strict=True)`: every tensor the network has must be
//! present with its exact shape and dtype, and no other tensor may be. The file is checked
//! completely before anything is replaced, so a failed load leaves the network unchanged.

use std::collections::HashMap;
use std::path::Path;

use safetensors::tensor::{SafeTensors, TensorView};

use crate::{Error, Float, OptimizerState, ParamKind, ParamSpec, ParamStore, Result};

/// The dtype a parameter has in a file: counters are 64-bit integers, as in PyTorch.
fn file_dtype<T: Float>(spec: &ParamSpec) -> safetensors::Dtype {
    if spec.kind == ParamKind::Counter { safetensors::Dtype::I64 } else { T::DTYPE }
}

fn weights_error(path: &Path, why: impl Into<String>) -> Error {
    Error::WeightsFile { path: path.display().to_string(), why: why.into() }
}

/// Serializes every parameter to safetensors bytes.
pub fn to_bytes<T: Float>(store: &ParamStore<T>) -> Result<Vec<u8>> {
    let bytes: Vec<Vec<u8>> = store
        .values()
        .iter()
        .zip(store.specs())
        .map(|(v, spec)| {
            let mut out = Vec::with_capacity(v.len() * 8);
            match spec.kind {
                ParamKind::Counter => v.iter().for_each(|x| out.extend_from_slice(&(x.as_f64() as i64).to_le_bytes())),
                _ => v.iter().for_each(|x| x.extend_le_bytes(&mut out)),
            }
            out
        })
        .collect();
    let views = store
        .specs()
        .iter()
        .zip(&bytes)
        .map(|(spec, data)| {
            let view = TensorView::new(file_dtype::<T>(spec), spec.shape.to_vec(), data).expect("sizes match the spec");
            (spec.name, view)
        })
        .collect::<Vec<_>>();
    let metadata = HashMap::from([("format".to_string(), "pt".to_string())]);
    safetensors::serialize(views, Some(metadata))
        .map_err(|e| Error::WeightsFile { path: "<memory>".into(), why: e.to_string() })
}

/// Writes every parameter to `path`.
pub fn save<T: Float>(store: &ParamStore<T>, path: &Path) -> Result<()> {
    let bytes = to_bytes(store)?;
    std::fs::write(path, bytes).map_err(|source| Error::Io { path: path.display().to_string(), source })
}

/// Reads `path` into `store`, strictly; on error `store` is unchanged.
pub fn load<T: Float>(store: &mut ParamStore<T>, path: &Path) -> Result<()> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io { path: path.display().to_string(), source })?;
    load_bytes(store, &bytes, path)
}

/// Reads safetensors `bytes` into `store`, strictly; `path` only names the source in errors.
pub fn load_bytes<T: Float>(store: &mut ParamStore<T>, bytes: &[u8], path: &Path) -> Result<()> {
    let file = SafeTensors::deserialize(bytes)
        .map_err(|e| weights_error(path, format!("not a valid safetensors file ({e})")))?;
    let mut values = Vec::with_capacity(store.specs().len());
    for spec in store.specs() {
        let tensor = file
            .tensor(spec.name)
            .map_err(|_| weights_error(path, format!("missing tensor `{}` (shape {:?})", spec.name, spec.shape)))?;
        let expected = file_dtype::<T>(spec);
        if tensor.dtype() != expected {
            let network = if spec.kind == ParamKind::Counter {
                "an integer count".to_string()
            } else {
                format!("the network is {}", T::NAME)
            };
            return Err(weights_error(
                path,
                format!("tensor `{}` has dtype {:?}, but {network} ({expected:?})", spec.name, tensor.dtype()),
            ));
        }
        if tensor.shape() != spec.shape {
            return Err(weights_error(
                path,
                format!(
                    "tensor `{}` has shape {:?}, but the network expects {:?}",
                    spec.name,
                    tensor.shape(),
                    spec.shape
                ),
            ));
        }
        let value: Vec<T> = match spec.kind {
            ParamKind::Counter => tensor
                .data()
                .chunks_exact(8)
                .map(|b| T::from_f64(i64::from_le_bytes(b.try_into().expect("8 bytes")) as f64))
                .collect(),
            _ => tensor.data().chunks_exact(size_of::<T>()).map(T::from_le_slice).collect(),
        };
        if let Some(bad) = value.iter().position(|v| !v.is_finite()) {
            return Err(weights_error(
                path,
                format!("tensor `{}` holds a non-finite value at flat index {bad}", spec.name),
            ));
        }
        values.push(value);
    }
    let mut unexpected: Vec<String> =
        file.names().into_iter().filter(|n| store.specs().iter().all(|s| s.name != *n)).map(str::to_string).collect();
    if !unexpected.is_empty() {
        unexpected.sort();
        return Err(weights_error(path, format!("unexpected tensors not in the network: {}", unexpected.join(", "))));
    }
    store.replace_all(values);
    Ok(())
}

/// Serializes the optimizer state (`<param>.<state>` tensors and the step count `step`, an
/// i64 scalar) to safetensors bytes.
pub fn optimizer_to_bytes<T: Float>(state: &OptimizerState<T>, specs: &[ParamSpec], steps: u64) -> Result<Vec<u8>> {
    let names = state.full_names(specs);
    let mut data: Vec<(String, Vec<usize>, Vec<u8>, safetensors::Dtype)> = Vec::new();
    let mut names_iter = names.into_iter();
    for (index, spec) in specs.iter().enumerate() {
        for slot in state.slots(index) {
            let mut bytes = Vec::with_capacity(slot.len() * size_of::<T>());
            slot.iter().for_each(|v| v.extend_le_bytes(&mut bytes));
            data.push((names_iter.next().expect("one name per slot"), spec.shape.to_vec(), bytes, T::DTYPE));
        }
    }
    data.push(("step".into(), vec![], (steps as i64).to_le_bytes().to_vec(), safetensors::Dtype::I64));
    let views = data
        .iter()
        .map(|(n, shape, bytes, dtype)| {
            (n.as_str(), TensorView::new(*dtype, shape.clone(), bytes).expect("sizes match"))
        })
        .collect::<Vec<_>>();
    safetensors::serialize(views, None).map_err(|e| Error::WeightsFile { path: "<memory>".into(), why: e.to_string() })
}

/// Writes the optimizer state to `path`.
pub fn save_optimizer<T: Float>(state: &OptimizerState<T>, specs: &[ParamSpec], steps: u64, path: &Path) -> Result<()> {
    let bytes = optimizer_to_bytes(state, specs, steps)?;
    std::fs::write(path, bytes).map_err(|source| Error::Io { path: path.display().to_string(), source })
}

/// Reads optimizer state saved by [`save_optimizer`], strictly; returns the step count. On
/// error `state` is unchanged.
pub fn load_optimizer<T: Float>(state: &mut OptimizerState<T>, specs: &[ParamSpec], path: &Path) -> Result<u64> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io { path: path.display().to_string(), source })?;
    let file = SafeTensors::deserialize(&bytes)
        .map_err(|e| weights_error(path, format!("not a valid safetensors file ({e})")))?;
    let names = state.full_names(specs);
    let mut values = Vec::with_capacity(names.len());
    let shapes = specs.iter().enumerate().flat_map(|(i, s)| std::iter::repeat_n(s.shape, state.slots(i).len()));
    for (name, shape) in names.iter().zip(shapes) {
        let tensor = file.tensor(name).map_err(|_| weights_error(path, format!("missing tensor `{name}`")))?;
        if tensor.dtype() != T::DTYPE || tensor.shape() != shape {
            return Err(weights_error(
                path,
                format!("tensor `{name}` is {:?} {:?}, expected {} {shape:?}", tensor.dtype(), tensor.shape(), T::NAME),
            ));
        }
        values.push(tensor.data().chunks_exact(size_of::<T>()).map(T::from_le_slice).collect::<Vec<T>>());
    }
    let step = file.tensor("step").map_err(|_| weights_error(path, "missing the step count `step`"))?;
    if step.dtype() != safetensors::Dtype::I64 || !step.shape().is_empty() {
        return Err(weights_error(path, "`step` must be an i64 scalar"));
    }
    let steps = i64::from_le_bytes(step.data().try_into().expect("8 bytes"));
    let steps = u64::try_from(steps).map_err(|_| weights_error(path, "`step` is negative"))?;
    let extra: Vec<&str> = file.names().into_iter().filter(|n| *n != "step" && !names.iter().any(|m| m == n)).collect();
    if !extra.is_empty() {
        return Err(weights_error(path, format!("unexpected tensors: {}", extra.join(", "))));
    }
    state.replace_all(values);
    Ok(steps)
}
