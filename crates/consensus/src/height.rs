//! The consensus height: a ledger block height.

use std::fmt;

use malachitebft_core_types as mc;

/// A block height. Genesis is block 0 and is not decided by consensus, so consensus starts at 1
/// ([`mc::Height::INITIAL`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Height(pub u64);

impl Height {
    /// The height as a ledger block height.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Height {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl mc::Height for Height {
    const ZERO: Self = Height(0);
    const INITIAL: Self = Height(1);

    fn increment_by(&self, n: u64) -> Self {
        Height(self.0.saturating_add(n))
    }

    fn decrement_by(&self, n: u64) -> Option<Self> {
        self.0.checked_sub(n).map(Height)
    }

    fn as_u64(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mc::Height as _;

    #[test]
    fn starts_after_genesis_and_never_wraps() {
        assert_eq!(Height::INITIAL, Height(1));
        assert_eq!(Height::ZERO.decrement(), None);
        assert_eq!(Height(u64::MAX).increment(), Height(u64::MAX));
        assert_eq!(Height(7).decrement_by(3), Some(Height(4)));
    }
}
