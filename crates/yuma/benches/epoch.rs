//! Criterion benches of one epoch (filled in below).
#![allow(missing_docs)]
fn main() {}
