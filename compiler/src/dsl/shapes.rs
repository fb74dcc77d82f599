//! Shapes through the network: every layer's input and output shape per example, and the
//! errors for a layer that cannot take its input or a residual block that changes the shape.

use std::collections::BTreeMap;

use super::ast::{Layer, Residual};
use super::errors::Errors;
use crate::vocab::{self, LayerKind};

/// Gives every layer its input and output shape, reporting each layer that cannot take what
/// the previous one gives (at the layer, naming both shapes), and each residual block whose
/// output shape differs from its input without a projection (or from its projection's).
pub fn infer_shapes(input: &[usize], layers: &mut [Layer], residuals: &[Residual], errors: &mut Errors) {
    let mut shape = input.to_vec();
    let mut block_inputs: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..layers.len() {
        for (b, residual) in residuals.iter().enumerate() {
            if residual.body.start == i {
                block_inputs.insert(b, shape.clone());
            }
        }
        let owner = residuals.iter().position(|r| r.projection == Some(i));
        if let Some(b) = owner {
            // The projection reads the block's input and must give the body's output.
            let residual = &residuals[b];
            let strides: Vec<[usize; 2]> = layers[residual.body.start..i].iter().map(|l| l.kind.stride()).collect();
            let stride = strides.iter().fold([1, 1], |a, s| [a[0] * s[0], a[1] * s[1]]);
            let body_output = shape.clone();
            match &mut layers[i].kind {
                LayerKind::Conv2d { out, stride: s, .. } => {
                    *out = body_output[0];
                    *s = stride;
                }
                LayerKind::Dense { units, .. } => *units = body_output[0],
                other => unreachable!("projections are conv or dense, found {}", other.name()),
            }
            shape = block_inputs[&b].clone();
        }
        let layer = &mut layers[i];
        layer.input_shape = shape.clone();
        match layer.kind.output_shape(&shape) {
            Ok(out) => shape = out,
            Err(why) => {
                errors.at(layer.span, format!("layer `{}`: {why}", layer.name));
                return;
            }
        }
        layer.output_shape = shape.clone();
        for (b, residual) in residuals.iter().enumerate() {
            if residual.body.end != i + 1 {
                continue;
            }
            let block_input = &block_inputs[&b];
            let text = |s: &[usize]| vocab::layer::shape_text(s);
            match residual.projection {
                None if &shape != block_input => {
                    errors.at(
                        residual.span,
                        format!(
                            "residual block `{}` turns {} into {}; the skip needs the same shape, or a projection: `residual(project = {}) {{ .. }}`",
                            residual.name,
                            text(block_input),
                            text(&shape),
                            if block_input.len() == 3 { "conv1x1" } else { "dense" }
                        ),
                    );
                    return;
                }
                Some(p) if layers[p].output_shape != layers[p - 1].output_shape => {
                    errors.at(
                        residual.span,
                        format!(
                            "residual block `{}`: its projection gives {} but its layers give {}",
                            residual.name,
                            text(&layers[p].output_shape),
                            text(&layers[p - 1].output_shape)
                        ),
                    );
                    return;
                }
                _ => {}
            }
        }
    }
}
