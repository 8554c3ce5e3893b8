//! Keys and keystores.
