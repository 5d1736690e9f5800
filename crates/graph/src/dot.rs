//! Graphviz DOT output: every node with its name, op and shape; kinds styled apart; name scopes
//! as clusters; byte-for-byte deterministic.

use crate::graph::{Graph, Node};
use crate::op::Op;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::io;
use std::path::Path;

/// How a node is drawn.
fn style(node: &Node) -> &'static str {
    match node.op {
        Op::Placeholder => "shape=invhouse, style=filled, fillcolor=\"#cfe8ff\"",
        Op::Variable { .. } => "shape=cylinder, style=filled, fillcolor=\"#ffe0b2\"",
        Op::Const(_) => "shape=box, style=\"rounded,filled\", fillcolor=\"#eeeeee\"",
        Op::Assign { .. } => "shape=box, style=filled, fillcolor=\"#ffccbc\"",
        Op::NoOp => "shape=octagon, style=filled, fillcolor=\"#f5f5f5\"",
        _ if node.name.starts_with("gradients/") || node.name.contains("/gradients/") => {
            "shape=ellipse, style=filled, fillcolor=\"#e1bee7\""
        }
        _ => "shape=ellipse, style=filled, fillcolor=\"#ffffff\"",
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// A tree of name scopes, each holding the ids of the nodes directly inside it.
#[derive(Default)]
struct ScopeTree {
    nodes: Vec<usize>,
    children: BTreeMap<String, ScopeTree>,
}

impl ScopeTree {
    fn insert(&mut self, path: &[&str], id: usize) {
        match path.split_first() {
            None => self.nodes.push(id),
            Some((head, rest)) => self
                .children
                .entry(head.to_string())
                .or_default()
                .insert(rest, id),
        }
    }

    fn write(&self, out: &mut String, nodes: &[Node], prefix: &str, depth: usize) {
        let indent = "  ".repeat(depth + 1);
        for &id in &self.nodes {
            let n = &nodes[id];
            // Ops without output (NoOp) have no dtype or shape to show.
            let label = if n.op.has_output() {
                format!(
                    "{}\\n{} {} {}",
                    escape(short(&n.name)),
                    n.op.type_name(),
                    n.dtype,
                    n.shape
                )
            } else {
                format!("{}\\n{}", escape(short(&n.name)), n.op.type_name())
            };
            let _ = writeln!(
                out,
                "{indent}n{id} [label=\"{label}\", tooltip=\"{}\", {}];",
                escape(&n.name),
                style(n)
            );
        }
        for (name, child) in &self.children {
            let full = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}/{name}")
            };
            let _ = writeln!(out, "{indent}subgraph \"cluster_{}\" {{", escape(&full));
            // The backward pass (`gradients/`, from autodiff) sits on a tinted background.
            let look = if name == "gradients" {
                "style=\"rounded,filled\"; fillcolor=\"#faf4fc\"; color=\"#8e24aa\""
            } else {
                "style=rounded; color=\"#90a4ae\""
            };
            let _ = writeln!(out, "{indent}  label=\"{}\"; {look};", escape(name));
            child.write(out, nodes, &full, depth + 1);
            let _ = writeln!(out, "{indent}}}");
        }
    }
}

fn short(name: &str) -> &str {
    name.rsplit_once('/').map_or(name, |(_, s)| s)
}

impl Graph {
    /// The graph in Graphviz DOT: data edges solid (labelled with the shape), control edges dashed,
    /// the variable an assign op writes dotted.
    pub fn to_dot(&self) -> String {
        self.with_nodes(|nodes| {
            let mut tree = ScopeTree::default();
            for (id, n) in nodes.iter().enumerate() {
                let path: Vec<&str> = n.scope().split('/').filter(|s| !s.is_empty()).collect();
                tree.insert(&path, id);
            }
            let mut out = String::from("digraph rill {\n  rankdir=BT;\n  fontname=\"Helvetica\";\n  node [fontname=\"Helvetica\", fontsize=10];\n  edge [fontname=\"Helvetica\", fontsize=9];\n");
            tree.write(&mut out, nodes, "", 0);
            for (id, n) in nodes.iter().enumerate() {
                for input in &n.inputs {
                    let from = &nodes[input.index()];
                    let _ = writeln!(out, "  n{} -> n{id} [label=\"{}\"];", input.index(), from.shape);
                }
                for dep in &n.control_inputs {
                    let _ = writeln!(out, "  n{} -> n{id} [style=dashed, color=\"#9e9e9e\"];", dep.index());
                }
                if let Op::Assign { var, .. } = n.op {
                    let _ = writeln!(out, "  n{id} -> n{} [style=dotted, color=\"#e64a19\", constraint=false];", var.index());
                }
            }
            out.push_str("}\n");
            out
        })
    }

    /// Writes `to_dot()` to `path` atomically (a temporary file renamed over the target), so a
    /// failed write never leaves a half-written file in place of a good one.
    pub fn write_dot(&self, path: impl AsRef<Path>) -> io::Result<()> {
        write_atomically(path.as_ref(), self.to_dot().as_bytes())
    }
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write as _;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let file_name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
    let tmp = dir.join(format!(
        ".{}.tmp{}",
        file_name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
