//! `use rampart::*` brings in the re-exported crates as modules; none may shadow a name every
//! Rust file relies on (`core`, the `metrics` facade, `panic`). It did: a test using
//! `core::mem` and `metrics::counter!` stopped compiling.

#![allow(clippy::wildcard_imports)]

use rampart::*;

#[test]
fn a_glob_import_shadows_neither_core_nor_metrics() {
    let (mut left, mut right) = (1, 2);
    core::mem::swap(&mut left, &mut right);
    assert_eq!((left, right), (2, 1));
    metrics::counter!("glob_import_test_total").increment(1);
    let stack = Stack::builder().build();
    assert!(stack.concurrency_limits().is_empty());
    assert_eq!(common::codes::RATE_LIMITED, "rate_limited");
}
