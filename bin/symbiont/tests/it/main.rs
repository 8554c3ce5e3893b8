//! End-to-end tests of the `symbiont` binary.

mod cli;
mod crash;
mod keys;
