//! Inspecting a compiled plan: DOT (fused steps list what they contain) and a text summary.

use crate::plan::Plan;
use std::collections::BTreeMap;
use std::fmt::Write;

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

impl Plan {
    /// The plan as Graphviz DOT: one node per step (fused steps show their ops and the nodes
    /// they replace), feeds as inputs, edges along slots. Deterministic.
    pub fn to_dot(&self) -> String {
        let mut out = String::from("digraph plan {\n  rankdir=BT;\n  fontname=\"Helvetica\";\n  node [fontname=\"Helvetica\", fontsize=10];\n");
        let mut producer: BTreeMap<usize, String> = BTreeMap::new();
        for (i, f) in self.feeds.iter().enumerate() {
            let id = format!("feed{i}");
            let _ = writeln!(out, "  {id} [label=\"{}\\nfeed {} {}\", shape=invhouse, style=filled, fillcolor=\"#cfe8ff\"];", escape(&f.name), f.dtype, f.planned);
            producer.insert(f.slot, id);
        }
        for (k, step) in self.steps.iter().enumerate() {
            let id = format!("s{k}");
            let (label, style) = match &step.fused {
                Some(p) => (
                    format!(
                        "{}\\n{}\\n({})",
                        escape(&step.name),
                        p.label(),
                        escape(&p.nodes.join(", "))
                    ),
                    "shape=box, style=\"rounded,filled\", fillcolor=\"#c8e6c9\"",
                ),
                None => (
                    format!(
                        "{}\\n{} {} {}",
                        escape(&step.name),
                        step.op.type_name(),
                        step.dtype,
                        step.shape
                    ),
                    "shape=ellipse",
                ),
            };
            let _ = writeln!(out, "  {id} [label=\"{label}\", {style}];");
            for s in &step.inputs {
                if let Some(from) = producer.get(s) {
                    let _ = writeln!(out, "  {from} -> {id};");
                }
            }
            producer.insert(step.output, id);
        }
        out.push_str("}\n");
        out
    }

    /// Steps, fused groups and the ops they hold, as text.
    pub fn summary(&self) -> String {
        let fused: Vec<_> = self.steps.iter().filter_map(|s| s.fused.as_ref()).collect();
        let nodes_fused: usize = fused.iter().map(|p| p.nodes.len()).sum();
        let mut ops: BTreeMap<&str, usize> = BTreeMap::new();
        for s in &self.steps {
            *ops.entry(if s.fused.is_some() {
                "Fused"
            } else {
                s.op.type_name()
            })
            .or_default() += 1;
        }
        let mut out = String::new();
        let _ = writeln!(
            out,
            "steps: {} (graph nodes executed: {})",
            self.steps.len(),
            self.steps.len() - fused.len() + nodes_fused
        );
        let _ = writeln!(
            out,
            "fused groups: {} holding {} nodes",
            fused.len(),
            nodes_fused
        );
        for p in &fused {
            let _ = writeln!(out, "  {}", p.label());
        }
        let ops: Vec<String> = ops.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        let _ = writeln!(out, "ops: {}", ops.join(", "));
        let _ = writeln!(out, "value slots: {}", self.num_slots);
        // Runs of steps by name, `(a, b) (c, d)`, after their count.
        let runs = |label: &str, runs: Vec<std::ops::Range<usize>>| {
            let named: Vec<String> = runs
                .into_iter()
                .map(|r| {
                    let names: Vec<&str> = r.map(|k| self.steps[k].name.as_str()).collect();
                    format!(" ({})", names.join(", "))
                })
                .collect();
            format!("{label}: {}{}", named.len(), named.concat())
        };
        let _ = writeln!(
            out,
            "{}",
            runs("concurrent groups", self.concurrent_groups())
        );
        let pairs = self
            .companion_pairs()
            .into_iter()
            .map(|k| k..k + 2)
            .collect();
        let _ = writeln!(out, "{}", runs("companion pairs", pairs));
        let _ = writeln!(out, "{}", self.memory_summary());
        out
    }

    /// The runs of steps an executor may run at the same time (as step index ranges).
    pub fn concurrent_groups(&self) -> Vec<std::ops::Range<usize>> {
        let mut groups = Vec::new();
        let mut k = 0;
        while k < self.steps.len() {
            let end = k
                + 1
                + self.steps[k + 1..]
                    .iter()
                    .take_while(|s| s.joins_previous)
                    .count();
            if end - k > 1 {
                groups.push(k..end);
            }
            k = end;
        }
        groups
    }

    /// The first steps of the pairs of small steps an executor may run on two threads (the
    /// second of each pair follows it).
    pub fn companion_pairs(&self) -> Vec<usize> {
        (1..self.steps.len())
            .filter(|&k| self.steps[k].pairs_with_previous)
            .map(|k| k - 1)
            .collect()
    }

    /// The planned buffers and their bytes, as a polynomial in the unknown dimensions (`?`,
    /// usually the batch): `buffers: 12 for 40 slots, planned 1048576 B + 6144 B·?`.
    pub fn memory_summary(&self) -> String {
        let occupants: usize = self.buffers.iter().map(|b| b.occupants).sum();
        let mut terms: BTreeMap<usize, usize> = BTreeMap::new();
        for b in &self.buffers {
            *terms.entry(b.unknown).or_default() += b.bytes(1);
        }
        let poly: Vec<String> = terms
            .iter()
            .map(|(&power, &bytes)| match power {
                0 => format!("{bytes} B"),
                1 => format!("{bytes} B·?"),
                p => format!("{bytes} B·?^{p}"),
            })
            .collect();
        format!(
            "buffers: {} for {} slots, planned {}",
            self.buffers.len(),
            occupants,
            if poly.is_empty() {
                "0 B".to_string()
            } else {
                poly.join(" + ")
            }
        )
    }

    /// Planned buffer bytes when every unknown dimension is `per_unknown`.
    pub fn planned_bytes(&self, per_unknown: usize) -> usize {
        self.buffers.iter().map(|b| b.bytes(per_unknown)).sum()
    }
}
