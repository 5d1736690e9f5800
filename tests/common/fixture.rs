//! Reading the reference fixtures in tests/fixtures/ (JSON written by tools/reference/*.py).

use ndarray::{ArrayD, IxDyn};
use serde_json::Value as Json;

/// The parsed fixture `tests/fixtures/<name>`.
pub fn load(name: &str) -> Json {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// An array stored as `{"shape": [...], "data": [...]}`, in f64.
pub fn array(j: &Json) -> ArrayD<f64> {
    let shape: Vec<usize> = j["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect();
    let data: Vec<f64> = j["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_f64().unwrap())
        .collect();
    ArrayD::from_shape_vec(IxDyn(&shape), data).unwrap()
}
