//! The variable store of a session: one value per variable slot, kept across runs.

use rill_graph::{AssignMode, Value};
use std::sync::{Arc, RwLock};

/// Variable values, indexed by the variable's slot. Values are shared (`Arc`) so a read is a
/// reference-count increment, never a copy.
#[derive(Default)]
pub struct VariableStore {
    values: RwLock<Vec<Option<Arc<Value>>>>,
}

impl VariableStore {
    pub fn read(&self, slot: usize) -> Option<Arc<Value>> {
        let values = self.values.read().unwrap_or_else(|e| e.into_inner());
        values.get(slot).cloned().flatten()
    }

    /// Applies an assign op under the write lock, so concurrent `assign_add`s do not lose updates.
    /// `Set` stores `shared()` (the value, shared). For `Add` / `Sub`, `in_place(old, value)`
    /// updates the stored value where it is when no run holds it (as TF's in-place
    /// `ApplyGradientDescent`), returning whether it could; otherwise `combine(old, value)`
    /// computes a new value and runs that hold the old one keep it.
    pub fn assign(
        &self,
        slot: usize,
        mode: AssignMode,
        value: &Value,
        shared: impl FnOnce() -> Arc<Value>,
        in_place: impl FnOnce(&mut Value, &Value) -> bool,
        combine: impl FnOnce(&Value, &Value) -> Result<Value, String>,
    ) -> Result<Arc<Value>, AssignError> {
        let mut values = self.values.write().unwrap_or_else(|e| e.into_inner());
        if values.len() <= slot {
            values.resize(slot + 1, None);
        }
        let stored = match mode {
            AssignMode::Set => shared(),
            AssignMode::Add | AssignMode::Sub => {
                let old = values[slot].as_mut().ok_or(AssignError::Uninitialized)?;
                if Arc::get_mut(old).is_some_and(|v| in_place(v, value)) {
                    return Ok(old.clone());
                }
                Arc::new(combine(old, value).map_err(AssignError::Kernel)?)
            }
        };
        values[slot] = Some(stored.clone());
        Ok(stored)
    }

    pub fn is_initialized(&self, slot: usize) -> bool {
        self.read(slot).is_some()
    }
}

pub enum AssignError {
    Uninitialized,
    Kernel(String),
}
