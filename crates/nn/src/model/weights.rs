//! Weights in and out: `get_weights` / `set_weights`, and safetensors files written atomically.

use super::Sequential;
use crate::error::{NnError, Result};
use ndarray::{ArrayD, IxDyn};
use rill_graph::Value;
use rill_runtime::feed;
use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;
use std::path::Path;

impl Sequential {
    /// Every weight's name (`dense/kernel`) and current value, in layer order.
    pub fn get_weights(&self) -> Result<Vec<(String, ArrayD<f32>)>> {
        let c = self.compiled()?;
        let ids: Vec<_> = c.weights.iter().map(|w| w.variable).collect();
        let values = c.session.run(&ids, &[])?;
        c.weights
            .iter()
            .zip(values)
            .map(|(w, v)| {
                Ok((
                    w.name.clone(),
                    v.into_array::<f32>().map_err(|v| {
                        NnError::InvalidArgument(format!(
                            "weight {} has dtype {}",
                            w.name,
                            v.dtype()
                        ))
                    })?,
                ))
            })
            .collect()
    }

    /// Sets weights by name; every weight of the model must be given, with its shape.
    pub fn set_weights(&self, weights: &[(String, ArrayD<f32>)]) -> Result<()> {
        let c = self.compiled()?;
        let mut problems = Vec::new();
        let mut values = Vec::with_capacity(c.weights.len());
        for w in &c.weights {
            match weights.iter().find(|(n, _)| *n == w.name) {
                None => problems.push(format!(
                    "missing weight '{}' of shape {:?}",
                    w.name, w.shape
                )),
                Some((_, a)) if a.shape() != w.shape.as_slice() => problems.push(format!(
                    "weight '{}' has shape {:?} in the model but {:?} was given",
                    w.name,
                    w.shape,
                    a.shape()
                )),
                Some((_, a)) => values.push(Value::F32(a.clone())),
            }
        }
        for (n, _) in weights {
            if !c.weights.iter().any(|w| &w.name == n) {
                problems.push(format!(
                    "unexpected weight '{n}': the model has no weight of that name"
                ));
            }
        }
        if !problems.is_empty() {
            return Err(NnError::InvalidArgument(format!(
                "weights do not match the model: {}",
                problems.join("; ")
            )));
        }
        let feeds: Vec<_> = c
            .setters
            .iter()
            .zip(&values)
            .map(|((p, _), v)| feed(*p, v))
            .collect();
        let targets: Vec<_> = c.setters.iter().map(|(_, a)| *a).collect();
        c.session.run_targets(&targets, &feeds)?;
        Ok(())
    }

    /// Saves every weight to a safetensors file, atomically: a failed write leaves any existing
    /// file as it was.
    pub fn save_weights(&self, path: impl AsRef<Path>) -> Result<()> {
        let weights = self.get_weights()?;
        let bytes: Vec<(String, Vec<u8>, Vec<usize>)> = weights
            .iter()
            .map(|(n, a)| {
                (
                    n.clone(),
                    a.iter().flat_map(|v| v.to_le_bytes()).collect(),
                    a.shape().to_vec(),
                )
            })
            .collect();
        let views = bytes
            .iter()
            .map(|(n, b, s)| {
                Ok((
                    n.clone(),
                    TensorView::new(Dtype::F32, s.clone(), b)
                        .map_err(|e| NnError::Io(e.to_string()))?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        let data = safetensors::serialize(views, None).map_err(|e| NnError::Io(e.to_string()))?;
        let path = path.as_ref();
        rill_graph::dot::write_atomically(path, &data)
            .map_err(|e| NnError::Io(format!("cannot write {}: {e}", path.display())))
    }

    /// Loads weights saved by `save_weights`; names and shapes must match the model's.
    pub fn load_weights(&self, path: impl AsRef<Path>) -> Result<()> {
        self.compiled()?;
        let path = path.as_ref();
        let data = std::fs::read(path)
            .map_err(|e| NnError::Io(format!("cannot read {}: {e}", path.display())))?;
        let st = SafeTensors::deserialize(&data).map_err(|e| {
            NnError::Io(format!("{} is not a safetensors file: {e}", path.display()))
        })?;
        let mut weights = Vec::new();
        for (name, view) in st.tensors() {
            if view.dtype() != Dtype::F32 {
                return Err(NnError::InvalidArgument(format!(
                    "weight '{name}' in {} has dtype {:?}, not F32",
                    path.display(),
                    view.dtype()
                )));
            }
            let values: Vec<f32> = view
                .data()
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            let a = ArrayD::from_shape_vec(IxDyn(view.shape()), values)
                .map_err(|e| NnError::Io(e.to_string()))?;
            weights.push((name, a));
        }
        self.set_weights(&weights)
    }
}
