//! Seeded randomness. Every subsystem draws from its own ChaCha stream derived from the scenario
//! seed and the stream's name, so adding draws in one subsystem never shifts another's sequence.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The generator type used everywhere in a simulation.
pub type SimRng = ChaCha8Rng;

/// The stream named `name` under `seed`. Same inputs, same sequence, on every machine.
pub fn stream(seed: u64, name: &str) -> SimRng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&fnv1a(name.as_bytes()).to_le_bytes());
    key[16..24].copy_from_slice(&fnv1a(&[name.as_bytes(), b"#2"].concat()).to_le_bytes());
    ChaCha8Rng::from_seed(key)
}

/// FNV-1a, 64 bits: a fixed, portable hash for names.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// SplitMix64 finaliser: a fixed, well-mixed hash of a 64-bit value (key partitioning, ids).
pub fn mix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    #[test]
    fn the_same_seed_and_name_give_the_same_sequence() {
        let a: Vec<u64> = (0..4)
            .map({
                let mut r = stream(7, "workload");
                move |_| r.random()
            })
            .collect();
        let b: Vec<u64> = (0..4)
            .map({
                let mut r = stream(7, "workload");
                move |_| r.random()
            })
            .collect();
        assert_eq!(a, b);
    }

    #[test]
    fn different_names_give_different_sequences() {
        let mut a = stream(7, "workload");
        let mut b = stream(7, "network");
        assert_ne!(a.random::<u64>(), b.random::<u64>());
    }
}
