//! Yuma consensus (placeholder until issue 3 lands).
