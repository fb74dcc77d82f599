//! Checkpoints: one safetensors file with everything training needs to resume exactly.
//!
//! It holds the parameters under their weights-file names, the optimizer state under the
//! optimizer file's names (`fc1.weight.exp_avg`, `fc1.weight.step`, `step`), and the rest of
//! the training state under `train.*`: the learning rate, the step count, each parameter's
//! trainable flag and learning-rate factor, and the dropout generator (seed, stream and
//! position), so the next masks are the ones an uninterrupted run would draw. Saving is atomic;
//! loading checks the whole file before anything changes.

use std::collections::HashMap;
use std::path::Path;

use safetensors::Dtype;
use safetensors::tensor::SafeTensors;

use crate::weights::{NamedBytes, read_optimizer, serialize};
use crate::{Error, Float, OptimizerState, ParamStore, Result, TrainState};

const LR: &str = "train.lr";
const STEPS: &str = "train.steps";
const TRAINABLE: &str = "train.trainable";
const LR_SCALE: &str = "train.lr_scale";
const RNG: &str = "train.rng";

/// Bytes of the generator's state: 32 of seed, 8 of stream, 16 of position.
const RNG_BYTES: usize = 56;

fn checkpoint_error(path: &Path, why: impl Into<String>) -> Error {
    Error::WeightsFile { path: path.display().to_string(), why: why.into() }
}

fn rng_bytes(rng: &crate::Rng) -> Vec<u8> {
    let mut out = rng.get_seed().to_vec();
    out.extend_from_slice(&rng.get_stream().to_le_bytes());
    out.extend_from_slice(&rng.get_word_pos().to_le_bytes());
    out
}

fn rng_from(bytes: &[u8]) -> crate::Rng {
    use rand::SeedableRng;
    let mut rng = crate::Rng::from_seed(bytes[..32].try_into().expect("32 bytes"));
    rng.set_stream(u64::from_le_bytes(bytes[32..40].try_into().expect("8 bytes")));
    rng.set_word_pos(u128::from_le_bytes(bytes[40..56].try_into().expect("16 bytes")));
    rng
}

/// Writes a checkpoint of `params`, `optimizer` and `state` to `path`, atomically.
pub fn save<T: Float>(
    params: &ParamStore<T>,
    optimizer: &OptimizerState<T>,
    state: &TrainState,
    network: &str,
    path: &Path,
) -> Result<()> {
    let specs = params.specs();
    let mut data: Vec<NamedBytes> = crate::weights::param_tensors(params);
    data.extend(crate::weights::optimizer_tensors(optimizer, specs, state.steps));
    let scalar = |name: &str, bytes: Vec<u8>, dtype| (name.to_string(), vec![], bytes, dtype);
    data.push(scalar(LR, state.lr.to_le_bytes().to_vec(), Dtype::F64));
    data.push(scalar(STEPS, (state.steps as i64).to_le_bytes().to_vec(), Dtype::I64));
    let trainable: Vec<u8> = params.trainable_flags().iter().map(|&t| u8::from(t)).collect();
    data.push((TRAINABLE.into(), vec![specs.len()], trainable, Dtype::U8));
    let scales: Vec<u8> = params.lr_scales().iter().flat_map(|s| s.to_le_bytes()).collect();
    data.push((LR_SCALE.into(), vec![specs.len()], scales, Dtype::F64));
    data.push((RNG.into(), vec![RNG_BYTES], rng_bytes(&state.rng), Dtype::U8));
    let metadata = HashMap::from([
        ("format".to_string(), "gradc-checkpoint".to_string()),
        ("network".to_string(), network.to_string()),
    ]);
    crate::atomic::write(path, &serialize(&data, Some(metadata))?)
}

/// A tensor of the `train.*` group with its dtype and shape checked.
fn train_tensor<'data>(
    file: &SafeTensors<'data>,
    name: &str,
    dtype: Dtype,
    shape: &[usize],
    path: &Path,
) -> Result<&'data [u8]> {
    let tensor =
        file.tensor(name).map_err(|_| checkpoint_error(path, format!("missing `{name}`; is it a checkpoint?")))?;
    if tensor.dtype() != dtype || tensor.shape() != shape {
        return Err(checkpoint_error(
            path,
            format!("`{name}` is {:?} {:?}, expected {dtype:?} {shape:?}", tensor.dtype(), tensor.shape()),
        ));
    }
    Ok(tensor.data())
}

/// Restores a checkpoint written by [`save`] into `params`, `optimizer` and `state`. Strict:
/// every tensor present with its shape and dtype, no others; on `Err` nothing changed.
pub fn load<T: Float>(
    params: &mut ParamStore<T>,
    optimizer: &mut OptimizerState<T>,
    state: &mut TrainState,
    path: &Path,
) -> Result<()> {
    let bytes = crate::weights::read_checked(path)?;
    let file = SafeTensors::deserialize(&bytes)
        .map_err(|e| checkpoint_error(path, format!("not a valid safetensors file ({e})")))?;
    let specs = params.specs();
    let is_train = |name: &str| name.starts_with("train.");

    let lr = f64::from_le_bytes(train_tensor(&file, LR, Dtype::F64, &[], path)?.try_into().expect("8 bytes"));
    if !lr.is_finite() || lr < 0.0 {
        return Err(checkpoint_error(path, format!("`{LR}` is {lr}; it must be finite and not negative")));
    }
    let steps = i64::from_le_bytes(train_tensor(&file, STEPS, Dtype::I64, &[], path)?.try_into().expect("8 bytes"));
    let steps = u64::try_from(steps).map_err(|_| checkpoint_error(path, format!("`{STEPS}` is negative")))?;
    let trainable: Vec<bool> =
        train_tensor(&file, TRAINABLE, Dtype::U8, &[specs.len()], path)?.iter().map(|&b| b != 0).collect();
    if let Some(i) = (0..specs.len()).find(|&i| trainable[i] && !specs[i].differentiable) {
        return Err(checkpoint_error(path, format!("`{}` is marked trainable but is #[frozen] here", specs[i].name)));
    }
    let scales: Vec<f64> = train_tensor(&file, LR_SCALE, Dtype::F64, &[specs.len()], path)?
        .chunks_exact(8)
        .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")))
        .collect();
    if let Some(bad) = scales.iter().find(|s| !s.is_finite() || **s < 0.0) {
        return Err(checkpoint_error(
            path,
            format!("a learning-rate scale is {bad}; it must be finite and not negative"),
        ));
    }
    let rng = rng_from(train_tensor(&file, RNG, Dtype::U8, &[RNG_BYTES], path)?);

    // Parameters and optimizer state into copies, so a failure changes nothing.
    let mut new_params = params.clone();
    crate::weights::read_params(&mut new_params, &file, path, |name| {
        is_train(name) || name == "step" || specs.iter().any(|s| name.starts_with(&format!("{}.", s.name)))
    })?;
    // The optimizer keeps state exactly for the parameters the checkpoint trains.
    let mut new_optimizer = optimizer.clone();
    for (index, spec) in specs.iter().enumerate() {
        new_optimizer.set_active(index, spec.len(), trainable[index]);
    }
    let network_steps = read_optimizer(&mut new_optimizer, specs, &file, path, |name| {
        is_train(name) || specs.iter().any(|s| s.name == name)
    })?;
    if network_steps != steps {
        return Err(checkpoint_error(path, format!("`step` ({network_steps}) and `{STEPS}` ({steps}) disagree")));
    }
    new_params.replace_flags(trainable, scales);
    *params = new_params;
    *optimizer = new_optimizer;
    *state = TrainState { lr, steps, rng };
    Ok(())
}
