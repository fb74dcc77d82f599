//! Weights files: safetensors with the names and layouts of PyTorch's `state_dict`.
//!
//! `load` is strict, like `load_state_dict(strict=True)`: every tensor the network has must be
//! present with its exact shape and dtype, and no other tensor may be. The file is checked
//! completely before anything is replaced, so a failed load leaves the network unchanged.

use std::collections::HashMap;
use std::path::Path;

use safetensors::tensor::{SafeTensors, TensorView};

use crate::{Error, Float, ParamKind, ParamSpec, ParamStore, Result};

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
