//! The two hashes the xtask needs: a quick hasher for maps keyed by numbers, and a stable
//! fingerprint of bytes (explain's records, the wrapper's hidden credentials, adopt's record).

use std::{
    collections::{HashMap, HashSet},
    hash::{BuildHasherDefault, Hasher},
};

/// Maps and sets keyed per entry of trees with hundreds of thousands: std's SipHash dominated
/// the clean task's scan in the debug build `cargo xtask` runs. Keys are numbers (units,
/// inodes), so an FNV-style mix with a final spread is enough.
pub(crate) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<Fnv>>;
pub(crate) type FastSet<K> = HashSet<K, BuildHasherDefault<Fnv>>;

#[derive(Default)]
pub(crate) struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        // Spread the low bits into the high ones hashbrown looks at first.
        let hash = (self.0 ^ (self.0 >> 33)).wrapping_mul(0xff51_afd7_ed55_8ccd);
        hash ^ (hash >> 33)
    }

    fn write(&mut self, bytes: &[u8]) {
        bytes.iter().for_each(|byte| self.write_u64(u64::from(*byte)));
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(0x0100_0000_01b3);
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}

/// A stable 64-bit FNV-1a of `bytes`, as 16 hex digits: the same on every machine and
/// version, so records compare across them. Eight bytes a round keeps it quick unoptimised.
pub(crate) fn fingerprint(bytes: &[u8]) -> String {
    const PRIME: u64 = 0x100_0000_01b3;
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        hash = (hash ^ u64::from_le_bytes(chunk.try_into().unwrap_or_default())).wrapping_mul(PRIME);
    }
    for byte in chunks.remainder() {
        hash = (hash ^ u64::from(*byte)).wrapping_mul(PRIME);
    }
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_stable() {
        assert_eq!(fingerprint(b""), "cbf29ce484222325");
        assert_ne!(fingerprint(b"12345678a"), fingerprint(b"12345678b"));
    }
}
