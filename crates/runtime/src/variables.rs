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
    /// `combine(old, new)` computes the stored value for `Add` / `Sub`.
    pub fn assign(
        &self,
        slot: usize,
        mode: AssignMode,
        value: Arc<Value>,
        combine: impl FnOnce(&Value, &Value) -> Result<Value, String>,
    ) -> Result<Arc<Value>, AssignError> {
        let mut values = self.values.write().unwrap_or_else(|e| e.into_inner());
        if values.len() <= slot {
            values.resize(slot + 1, None);
        }
        let stored = match mode {
            AssignMode::Set => value,
            AssignMode::Add | AssignMode::Sub => {
                let old = values[slot].as_ref().ok_or(AssignError::Uninitialized)?;
                Arc::new(combine(old, &value).map_err(AssignError::Kernel)?)
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
