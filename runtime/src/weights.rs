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

/// Every parameter as a tensor to serialize, under its weights-file name; counters as i64.
pub(crate) fn param_tensors<T: Float>(store: &ParamStore<T>) -> Vec<NamedBytes> {
    store
        .values()
        .iter()
        .zip(store.specs())
        .map(|(v, spec)| {
            let mut out = Vec::with_capacity(v.len() * 8);
            match spec.kind {
                ParamKind::Counter => v.iter().for_each(|x| out.extend_from_slice(&(x.as_f64() as i64).to_le_bytes())),
                _ => v.iter().for_each(|x| x.extend_le_bytes(&mut out)),
            }
            (spec.name.to_string(), spec.shape.to_vec(), out, file_dtype::<T>(spec))
        })
        .collect()
}

/// Serializes every parameter to safetensors bytes.
pub fn to_bytes<T: Float>(store: &ParamStore<T>) -> Result<Vec<u8>> {
    let metadata = HashMap::from([("format".to_string(), "pt".to_string())]);
    serialize(&param_tensors(store), Some(metadata))
}

/// Writes every parameter to `path`.
pub fn save<T: Float>(store: &ParamStore<T>, path: &Path) -> Result<()> {
    let bytes = to_bytes(store)?;
    crate::atomic::write(path, &bytes)
}

/// Reads a safetensors file whole, after checking that its 8-byte header length fits the
/// file, so a file that is not safetensors (or `/dev/zero`) is refused before it is read.
pub fn read_checked(path: &Path) -> Result<Vec<u8>> {
    use std::io::Read;
    let io = |source| Error::Io { path: path.display().to_string(), source };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    let mut header = [0u8; 8];
    if len < 8 || file.read_exact(&mut header).is_err() {
        return Err(weights_error(path, "not a safetensors file (shorter than its 8-byte header length)"));
    }
    let header_len = u64::from_le_bytes(header);
    // safetensors' own limit on the JSON header is 100 MB.
    if header_len > 100_000_000 || header_len > len - 8 {
        return Err(weights_error(
            path,
            format!("not a safetensors file (its header length {header_len} does not fit the file of {len} bytes)"),
        ));
    }
    let mut bytes = header.to_vec();
    bytes.reserve_exact((len - 8) as usize);
    // Read only what the file held when opened: a file that keeps growing cannot exhaust memory.
    file.take(len - 8).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 != len {
        return Err(weights_error(path, "the file changed while it was read"));
    }
    Ok(bytes)
}

/// Reads `path` into `store`, strictly; on error `store` is unchanged.
pub fn load<T: Float>(store: &mut ParamStore<T>, path: &Path) -> Result<()> {
    let bytes = read_checked(path)?;
    load_bytes(store, &bytes, path)
}

/// Reads safetensors `bytes` into `store`, strictly; `path` only names the source in errors.
pub fn load_bytes<T: Float>(store: &mut ParamStore<T>, bytes: &[u8], path: &Path) -> Result<()> {
    let file = SafeTensors::deserialize(bytes)
        .map_err(|e| weights_error(path, format!("not a valid safetensors file ({e})")))?;
    read_params(store, &file, path, |_| false)
}

/// Reads every parameter from a parsed file, strictly but for names `allowed_extra` accepts;
/// on error `store` is unchanged.
pub(crate) fn read_params<T: Float>(
    store: &mut ParamStore<T>,
    file: &SafeTensors<'_>,
    path: &Path,
    allowed_extra: impl Fn(&str) -> bool,
) -> Result<()> {
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
    let mut unexpected: Vec<String> = file
        .names()
        .into_iter()
        .filter(|n| store.specs().iter().all(|s| s.name != *n) && !allowed_extra(n))
        .map(str::to_string)
        .collect();
    if !unexpected.is_empty() {
        unexpected.sort();
        return Err(weights_error(path, format!("unexpected tensors not in the network: {}", unexpected.join(", "))));
    }
    store.replace_all(values);
    Ok(())
}

/// The name of parameter `spec`'s own step count in an optimizer file.
fn step_name(spec: &ParamSpec) -> String {
    format!("{}.step", spec.name)
}

/// State tensors that must not be negative (running averages of squares).
const NON_NEGATIVE_STATE: &[&str] = &["exp_avg_sq", "max_exp_avg_sq", "square_avg"];

/// The optimizer state as safetensors tensors: `<param>.<state>` with the parameter's shape,
/// `<param>.step` (an i64 scalar, PyTorch's per-parameter step) for every parameter that keeps
/// state, and the network's step count `step`.
pub(crate) fn optimizer_tensors<T: Float>(
    state: &OptimizerState<T>,
    specs: &[ParamSpec],
    steps: u64,
) -> Vec<NamedBytes> {
    let names = state.full_names(specs);
    let mut data: Vec<NamedBytes> = Vec::new();
    let mut names_iter = names.into_iter();
    for (index, spec) in specs.iter().enumerate() {
        for slot in state.slots(index) {
            let mut bytes = Vec::with_capacity(slot.len() * size_of::<T>());
            slot.iter().for_each(|v| v.extend_le_bytes(&mut bytes));
            data.push((names_iter.next().expect("one name per slot"), spec.shape.to_vec(), bytes, T::DTYPE));
        }
        if state.is_active(index) {
            let step = (state.step(index) as i64).to_le_bytes().to_vec();
            data.push((step_name(spec), vec![], step, safetensors::Dtype::I64));
        }
    }
    data.push(("step".into(), vec![], (steps as i64).to_le_bytes().to_vec(), safetensors::Dtype::I64));
    data
}

/// A tensor to serialize: name, shape, little-endian bytes, dtype.
pub(crate) type NamedBytes = (String, Vec<usize>, Vec<u8>, safetensors::Dtype);

/// Serializes named tensors, with optional metadata.
pub(crate) fn serialize(data: &[NamedBytes], metadata: Option<HashMap<String, String>>) -> Result<Vec<u8>> {
    let views = data
        .iter()
        .map(|(n, shape, bytes, dtype)| {
            (n.as_str(), TensorView::new(*dtype, shape.clone(), bytes).expect("sizes match"))
        })
        .collect::<Vec<_>>();
    safetensors::serialize(views, metadata)
        .map_err(|e| Error::WeightsFile { path: "<memory>".into(), why: e.to_string() })
}

/// Serializes the optimizer state (`<param>.<state>` tensors, each parameter's step count
/// `<param>.step` and the network's step count `step`, i64 scalars) to safetensors bytes.
pub fn optimizer_to_bytes<T: Float>(state: &OptimizerState<T>, specs: &[ParamSpec], steps: u64) -> Result<Vec<u8>> {
    serialize(&optimizer_tensors(state, specs, steps), None)
}

/// Writes the optimizer state to `path` atomically.
pub fn save_optimizer<T: Float>(state: &OptimizerState<T>, specs: &[ParamSpec], steps: u64, path: &Path) -> Result<()> {
    let bytes = optimizer_to_bytes(state, specs, steps)?;
    crate::atomic::write(path, &bytes)
}

/// An i64 scalar tensor as a count.
fn read_count(file: &SafeTensors<'_>, name: &str, path: &Path) -> Result<u64> {
    let tensor = file.tensor(name).map_err(|_| weights_error(path, format!("missing the step count `{name}`")))?;
    if tensor.dtype() != safetensors::Dtype::I64 || !tensor.shape().is_empty() {
        return Err(weights_error(path, format!("`{name}` must be an i64 scalar")));
    }
    let count = i64::from_le_bytes(tensor.data().try_into().expect("8 bytes"));
    u64::try_from(count).map_err(|_| weights_error(path, format!("`{name}` is negative")))
}

/// Reads optimizer state from a parsed file, checking everything before anything changes:
/// every state tensor and step count present with its shape and dtype, values finite and
/// squares' averages not negative, no other tensor (but `allowed_extra`). Returns the
/// network's step count.
pub(crate) fn read_optimizer<T: Float>(
    state: &mut OptimizerState<T>,
    specs: &[ParamSpec],
    file: &SafeTensors<'_>,
    path: &Path,
    allowed_extra: impl Fn(&str) -> bool,
) -> Result<u64> {
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
        let value: Vec<T> = tensor.data().chunks_exact(size_of::<T>()).map(T::from_le_slice).collect();
        let must_be_non_negative = NON_NEGATIVE_STATE.iter().any(|s| name.ends_with(&format!(".{s}")));
        if let Some(bad) = value.iter().position(|v| !v.is_finite() || (must_be_non_negative && *v < T::zero())) {
            let why = if must_be_non_negative { "finite and not negative" } else { "finite" };
            return Err(weights_error(
                path,
                format!("tensor `{name}` holds {} at flat index {bad}; it must be {why}", value[bad].as_f64()),
            ));
        }
        values.push(value);
    }
    let mut steps = Vec::with_capacity(specs.len());
    for (index, spec) in specs.iter().enumerate() {
        steps.push(if state.is_active(index) { read_count(file, &step_name(spec), path)? } else { 0 });
    }
    let network_steps = read_count(file, "step", path)?;
    let expected_steps: Vec<String> =
        specs.iter().enumerate().filter(|&(i, _)| state.is_active(i)).map(|(_, s)| step_name(s)).collect();
    let extra: Vec<&str> = file
        .names()
        .into_iter()
        .filter(|n| *n != "step" && !names.iter().any(|m| m == n) && !expected_steps.iter().any(|m| m == n))
        .filter(|n| !allowed_extra(n))
        .collect();
    if !extra.is_empty() {
        return Err(weights_error(path, format!("unexpected tensors: {}", extra.join(", "))));
    }
    state.replace_all(values, steps);
    Ok(network_steps)
}

/// Reads optimizer state saved by [`save_optimizer`], strictly; returns the step count. On
/// error `state` is unchanged.
pub fn load_optimizer<T: Float>(state: &mut OptimizerState<T>, specs: &[ParamSpec], path: &Path) -> Result<u64> {
    let bytes = read_checked(path)?;
    let file = SafeTensors::deserialize(&bytes)
        .map_err(|e| weights_error(path, format!("not a valid safetensors file ({e})")))?;
    read_optimizer(state, specs, &file, path, |_| false)
}
