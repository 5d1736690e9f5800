//! The op registry test: every op type `Op::type_name` can return must be executed by some
//! forward test. It runs every forward test again on its own thread, recording the op types
//! of the graphs they run, and compares the union with `rill::graph::op::TYPE_NAMES`.

use crate::common::{clear_executed, executed};
use std::collections::BTreeSet;

/// A module's forward tests, by name.
type Tests = &'static [(&'static str, fn())];

/// Every forward test module: its name, its test list and its source (to check the list).
const MODULES: &[(&str, Tests, &str)] = &[
    ("array", crate::array::TESTS, include_str!("array.rs")),
    (
        "elementwise",
        crate::elementwise::TESTS,
        include_str!("elementwise.rs"),
    ),
    (
        "grad_support",
        crate::grad_support::TESTS,
        include_str!("grad_support.rs"),
    ),
    ("reduce", crate::reduce::TESTS, include_str!("reduce.rs")),
    ("sources", crate::sources::TESTS, include_str!("sources.rs")),
    ("state", crate::state::TESTS, include_str!("state.rs")),
];

#[test]
fn every_test_module_lists_all_its_tests() {
    for (module, tests, source) in MODULES {
        let attributes = source.matches("#[test]").count();
        assert_eq!(
            attributes,
            tests.len(),
            "{module}.rs has {attributes} #[test] functions but lists {} in forward_tests!",
            tests.len()
        );
        let names: BTreeSet<_> = tests.iter().map(|(n, _)| *n).collect();
        assert_eq!(names.len(), tests.len(), "{module}.rs lists a test twice");
    }
}

#[test]
fn every_op_type_has_a_forward_test() {
    clear_executed();
    for (_, tests, _) in MODULES {
        for (_, test) in *tests {
            test();
        }
    }
    let covered = executed();
    let known: BTreeSet<&str> = rill::graph::op::TYPE_NAMES.iter().copied().collect();
    let missing: Vec<&str> = known.difference(&covered).copied().collect();
    assert!(
        missing.is_empty(),
        "op types that no forward test runs: {missing:?}"
    );
    let unknown: Vec<&str> = covered.difference(&known).copied().collect();
    assert!(
        unknown.is_empty(),
        "op types missing from TYPE_NAMES: {unknown:?}"
    );
}
