//! `Graph`: the append-only node arena (shared, interior-mutable), names, scopes and control deps.

use crate::dtype::DType;
use crate::error::{location_string, BuildLocation, GraphError, Result};
use crate::infer;
use crate::op::Op;
use crate::shape::Shape;
use crate::tensor::{Tensor, TensorId};
use std::collections::HashMap;
use std::fmt;
use std::panic::Location;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard, Weak};

/// Index of a node in its graph. Nodes are only ever appended, so every input of a node has a
/// smaller id than the node itself: id order is a topological order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub u32);

impl NodeId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// One node: an op, its inputs, and what shape inference said about its output.
#[derive(Clone, Debug)]
pub struct Node {
    pub name: String,
    pub op: Op,
    pub inputs: Vec<NodeId>,
    /// Nodes that must run before this one although it does not read their values.
    pub control_inputs: Vec<NodeId>,
    pub dtype: DType,
    pub shape: Shape,
    /// The line of user code that built the node.
    pub location: BuildLocation,
}

impl Node {
    /// The node's first (and only) output tensor, as TF names it: `name:0`.
    pub fn output_name(&self) -> String {
        format!("{}:0", self.name)
    }

    /// The name scope the node lives in (`a/b` for `a/b/MatMul`), empty at the top.
    pub fn scope(&self) -> &str {
        self.name.rsplit_once('/').map_or("", |(s, _)| s)
    }
}

static NEXT_GRAPH_ID: AtomicU32 = AtomicU32::new(1);

/// Every live graph by id, so errors about a `TensorId` used with the wrong graph can name it.
static GRAPHS: Mutex<Vec<(u32, Weak<Inner>)>> = Mutex::new(Vec::new());

/// A dataflow graph. Cloning a `Graph` gives another handle to the same graph.
#[derive(Clone)]
pub struct Graph {
    inner: Arc<Inner>,
}

struct Inner {
    id: u32,
    state: RwLock<State>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        let mut graphs = GRAPHS.lock().unwrap_or_else(|e| e.into_inner());
        graphs.retain(|(id, _)| *id != self.id);
    }
}

#[derive(Default)]
pub(crate) struct State {
    pub(crate) nodes: Vec<Node>,
    by_name: HashMap<String, NodeId>,
    /// How many times each full name has been handed out (TF's `unique_name` counter).
    used_names: HashMap<String, usize>,
    scopes: Vec<String>,
    control_stack: Vec<Vec<NodeId>>,
    finalized: bool,
    pub(crate) variables: Vec<NodeId>,
    /// Per variable slot: whether optimizers update it by default (TF's `trainable`).
    pub(crate) trainable: Vec<bool>,
    /// The assign ops that give each variable its initial value, in creation order.
    pub(crate) initializers: Vec<Option<NodeId>>,
    pub(crate) seed: u64,
    pub(crate) random_ops: u64,
}

impl Default for Graph {
    fn default() -> Self {
        Graph::new()
    }
}

impl fmt::Debug for Graph {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Graph#{} ({} nodes)", self.inner.id, self.len())
    }
}

impl PartialEq for Graph {
    fn eq(&self, other: &Graph) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl Graph {
    pub fn new() -> Graph {
        let inner = Arc::new(Inner {
            id: NEXT_GRAPH_ID.fetch_add(1, Ordering::Relaxed),
            state: RwLock::new(State {
                seed: 0x5EED,
                ..State::default()
            }),
        });
        let mut graphs = GRAPHS.lock().unwrap_or_else(|e| e.into_inner());
        graphs.push((inner.id, Arc::downgrade(&inner)));
        drop(graphs);
        Graph { inner }
    }

    /// The TF name (`layer/w:0`) of a tensor of any live graph, for error messages.
    pub fn tensor_name(id: TensorId) -> Option<String> {
        let weak = {
            let graphs = GRAPHS.lock().unwrap_or_else(|e| e.into_inner());
            graphs.iter().find(|(g, _)| *g == id.graph)?.1.clone()
        };
        // Upgraded outside the lock: dropping the last handle here locks the registry again.
        let graph = Graph {
            inner: weak.upgrade()?,
        };
        let name = graph
            .read()
            .nodes
            .get(id.node.index())
            .map(Node::output_name);
        name
    }

    /// A number unique to this graph among the graphs of the process.
    pub fn id(&self) -> u32 {
        self.inner.id
    }

    pub(crate) fn read(&self) -> RwLockReadGuard<'_, State> {
        // A poisoned lock means a panic happened while the state was being changed; the node
        // arena is append-only and each push is one step, so the state is still consistent.
        self.inner.state.read().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.inner.state.write().unwrap_or_else(|e| e.into_inner())
    }

    pub fn len(&self) -> usize {
        self.read().nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A copy of node `id`. Panics only if the id is not from this graph.
    pub fn node(&self, id: NodeId) -> Node {
        self.read().nodes[id.index()].clone()
    }

    /// Runs `f` on all nodes without copying them.
    pub fn with_nodes<R>(&self, f: impl FnOnce(&[Node]) -> R) -> R {
        f(&self.read().nodes)
    }

    /// The handle of a node of this graph.
    pub fn tensor(&self, id: TensorId) -> Result<Tensor<'_>> {
        if id.graph != self.id() || id.node.index() >= self.len() {
            return Err(GraphError::ForeignTensor {
                tensor: Graph::tensor_name(id).unwrap_or_else(|| format!("{id:?}")),
                location: location_string(Location::caller()),
            });
        }
        Ok(Tensor::new(self, id.node))
    }

    /// The handle of node `id` of this graph (ids come from this graph's own nodes).
    pub fn handle(&self, id: NodeId) -> Tensor<'_> {
        assert!(id.index() < self.len(), "node {id:?} is not in this graph");
        Tensor::new(self, id)
    }

    /// Looks a tensor up by name: `"layer/w"` or `"layer/w:0"`.
    pub fn get(&self, name: &str) -> Result<Tensor<'_>> {
        let base = match name.rsplit_once(':') {
            Some((base, "0")) => base,
            Some((_, index)) if index.parse::<usize>().is_ok() => {
                return Err(GraphError::NotFound(format!(
                    "{name} (every op here has a single output, :0)"
                )))
            }
            _ => name,
        };
        let id = self.read().by_name.get(base).copied();
        id.map(|id| Tensor::new(self, id))
            .ok_or_else(|| GraphError::NotFound(name.to_string()))
    }

    /// Sets the graph-level seed: random ops built afterwards without a seed of their own derive
    /// theirs from it and their position, so a graph built twice draws the same numbers.
    pub fn set_random_seed(&self, seed: u64) {
        let mut s = self.write();
        s.seed = seed;
        s.random_ops = 0;
    }

    /// Refuses every later attempt to add a node (TF's `Graph.finalize`).
    pub fn finalize(&self) {
        self.write().finalized = true;
    }

    pub fn is_finalized(&self) -> bool {
        self.read().finalized
    }

    /// All variables, in creation order.
    pub fn variables(&self) -> Vec<Tensor<'_>> {
        let ids = self.read().variables.clone();
        ids.into_iter().map(|id| Tensor::new(self, id)).collect()
    }

    /// The variables optimizers update by default, in creation order.
    pub fn trainable_variables(&self) -> Vec<Tensor<'_>> {
        let s = self.read();
        let ids: Vec<NodeId> = s
            .variables
            .iter()
            .zip(&s.trainable)
            .filter(|(_, &t)| t)
            .map(|(id, _)| *id)
            .collect();
        drop(s);
        ids.into_iter().map(|id| Tensor::new(self, id)).collect()
    }

    /// Marks a variable as trainable or not (BatchNormalization's moving statistics are not).
    /// Does nothing for a tensor that is not a variable.
    pub fn set_trainable(&self, variable: Tensor<'_>, trainable: bool) {
        let mut s = self.write();
        if let crate::op::Op::Variable { slot } = s.nodes[variable.node_id().index()].op {
            s.trainable[slot] = trainable;
        }
    }

    /// Enters a name scope until the guard is dropped: nodes built meanwhile are named
    /// `scope/...`. Entering the same scope again gives `scope_1`, as in TF.
    #[must_use = "the scope ends when the guard is dropped"]
    pub fn name_scope(&self, name: &str) -> ScopeGuard<'_> {
        let mut s = self.write();
        let full = s.unique_name(name);
        s.scopes.push(full);
        ScopeGuard { graph: self }
    }

    /// Nodes built while the guard lives run after `deps` (TF's `control_dependencies`).
    #[must_use = "the control dependencies end when the guard is dropped"]
    pub fn control_dependencies(&self, deps: &[Tensor<'_>]) -> ControlGuard<'_> {
        let ids = deps.iter().map(|t| t.node_id()).collect();
        self.write().control_stack.push(ids);
        ControlGuard { graph: self }
    }

    /// The current name scope, `""` at the top.
    pub fn current_scope(&self) -> String {
        self.read().scopes.last().cloned().unwrap_or_default()
    }

    /// Adds a node after inferring its output dtype and shape. Every op builder ends here.
    pub(crate) fn add_node(
        &self,
        op: Op,
        inputs: &[Tensor<'_>],
        name: Option<&str>,
        declared: Option<(DType, Shape)>,
        location: BuildLocation,
    ) -> Result<Tensor<'_>> {
        for t in inputs {
            if t.graph() != self {
                return Err(GraphError::ForeignTensor {
                    tensor: t.name(),
                    location: location_string(location),
                });
            }
        }
        let mut s = self.write();
        let base = name.unwrap_or(op.type_name());
        if s.finalized {
            return Err(GraphError::Finalized {
                node: base.to_string(),
                op: op.type_name(),
                location: location_string(location),
            });
        }
        let input_ids: Vec<NodeId> = inputs.iter().map(|t| t.node_id()).collect();
        let metas: Vec<(DType, &Shape)> = input_ids
            .iter()
            .map(|id| {
                let n = &s.nodes[id.index()];
                (n.dtype, &n.shape)
            })
            .collect();
        let inferred = match declared {
            Some(meta) => Ok(meta),
            None => infer::infer(&op, &metas, &s.nodes),
        };
        let (dtype, shape) = match inferred {
            Ok(meta) => meta,
            Err(message) => {
                let shapes: Vec<&Shape> = metas.iter().map(|(_, sh)| *sh).collect();
                return Err(s.invalid_op(&op, name, &shapes, message, location));
            }
        };
        let name = s.unique_name(base);
        let mut control_inputs: Vec<NodeId> = s.control_stack.iter().flatten().copied().collect();
        control_inputs.sort();
        control_inputs.dedup();
        let id = NodeId(s.nodes.len() as u32);
        s.by_name.insert(name.clone(), id);
        s.nodes.push(Node {
            name,
            op,
            inputs: input_ids,
            control_inputs,
            dtype,
            shape,
            location,
        });
        drop(s);
        Ok(Tensor::new(self, id))
    }

    /// Adds control inputs to a node just built (used by `group` and the init op).
    pub(crate) fn add_control_inputs(&self, id: NodeId, deps: &[NodeId]) {
        let mut s = self.write();
        let node = &mut s.nodes[id.index()];
        node.control_inputs.extend_from_slice(deps);
        node.control_inputs.sort();
        node.control_inputs.dedup();
    }

    /// Renames a node (keeping its scope), making the name unique. Returns the new full name.
    pub(crate) fn rename(&self, id: NodeId, new_base: &str) -> String {
        let mut s = self.write();
        let old = s.nodes[id.index()].name.clone();
        let scope = old.rsplit_once('/').map(|(sc, _)| sc.to_string());
        let wanted = match scope {
            Some(sc) => format!("{sc}/{new_base}"),
            None => new_base.to_string(),
        };
        if wanted == old {
            return old;
        }
        let name = s.claim(&wanted);
        // Give the old name back if this node was its only holder (nothing was uniqued
        // against it and no scope lives under it), so `constant(..).named("a")` then
        // `constant(..)` gives `a` and `Const`, as passing `name=` does in TF.
        let prefix = format!("{old}/");
        if s.used_names.get(&old) == Some(&1)
            && !s.nodes.iter().any(|n| n.name.starts_with(&prefix))
        {
            s.used_names.remove(&old);
        }
        s.by_name.remove(&old);
        s.by_name.insert(name.clone(), id);
        s.nodes[id.index()].name = name.clone();
        name
    }
}

impl Graph {
    /// The error for an op that cannot be built, naming the node as it would have been named.
    pub(crate) fn invalid_op(
        &self,
        op: &Op,
        name: Option<&str>,
        inputs: &[Tensor<'_>],
        message: String,
        location: BuildLocation,
    ) -> GraphError {
        let s = self.read();
        let shapes: Vec<&Shape> = inputs
            .iter()
            .map(|t| &s.nodes[t.node_id().index()].shape)
            .collect();
        s.invalid_op(op, name, &shapes, message, location)
    }

    /// Runs `f` with `scope` (a full name, not uniqued again) as the current name scope.
    pub(crate) fn in_exact_scope<R>(&self, scope: &str, f: impl FnOnce() -> R) -> R {
        self.write().scopes.push(scope.to_string());
        let _guard = ScopeGuard { graph: self };
        f()
    }
}

impl State {
    fn invalid_op(
        &self,
        op: &Op,
        name: Option<&str>,
        shapes: &[&Shape],
        message: String,
        location: BuildLocation,
    ) -> GraphError {
        let full = self.scoped(name.unwrap_or(op.type_name()));
        let node = match self.used_names.get(&full) {
            Some(n) => format!("{full}_{n}"),
            None => full,
        };
        let shapes: Vec<String> = shapes.iter().map(|sh| sh.to_string()).collect();
        GraphError::InvalidOp {
            node,
            op: op.type_name(),
            shapes: shapes.join(", "),
            message,
            location: location_string(location),
        }
    }

    /// The full name `base` gets in the current scope, before uniquing.
    fn scoped(&self, base: &str) -> String {
        match self.scopes.last() {
            Some(scope) => format!("{scope}/{base}"),
            None => base.to_string(),
        }
    }

    /// A unique full name for `base` in the current scope, marked as used.
    fn unique_name(&mut self, base: &str) -> String {
        let full = self.scoped(base);
        self.claim(&full)
    }

    /// Marks `full` (or `full_N` if taken) as used and returns it.
    fn claim(&mut self, full: &str) -> String {
        match self.used_names.get(full).copied() {
            None => {
                self.used_names.insert(full.to_string(), 1);
                full.to_string()
            }
            Some(mut count) => loop {
                let candidate = format!("{full}_{count}");
                count += 1;
                if !self.used_names.contains_key(&candidate) {
                    self.used_names.insert(full.to_string(), count);
                    self.used_names.insert(candidate.clone(), 1);
                    return candidate;
                }
            },
        }
    }
}

/// Ends a name scope when dropped.
pub struct ScopeGuard<'g> {
    graph: &'g Graph,
}

impl Drop for ScopeGuard<'_> {
    fn drop(&mut self) {
        self.graph.write().scopes.pop();
    }
}

/// Ends a control-dependency block when dropped.
pub struct ControlGuard<'g> {
    graph: &'g Graph,
}

impl Drop for ControlGuard<'_> {
    fn drop(&mut self) {
        self.graph.write().control_stack.pop();
    }
}
