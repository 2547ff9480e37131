//! The minimum of a state's per-partition watermarks and how many partitions sit at it, found
//! without a scan of every partition each time the last one at the minimum moves.
//!
//! [`Minima`] keeps, per block of [`BLOCK`] consecutive partitions, the block's minimum and how
//! many of its partitions sit at it. While valid, a raise of one partition costs at most a scan
//! of its block, and the minimum over all is a pass over the blocks; a change it is not told of
//! (a state's watermarks replaced or raised in bulk) makes it invalid, and the next minimum
//! asked for rebuilds it in one scan.
//!
//! Invariant: while `valid`, `blocks[b]` is the minimum of partitions `b·BLOCK ..` (up to the
//! next block) and how many sit at it, for the watermarks it was last built from or told of.

use crate::time::SimTime;

/// Partitions per block.
const BLOCK: usize = 32;

/// Per-block minima of a state's partition watermarks (a cache: not part of the state's value).
#[derive(Debug, Clone, Default)]
pub(super) struct Minima {
    blocks: Vec<(SimTime, u32)>,
    valid: bool,
}

impl Minima {
    /// Forgets what it knows: the watermarks changed without it being told.
    pub(super) fn invalidate(&mut self) {
        self.valid = false;
    }

    /// Partition `p` of `wms` was raised from `was` (`wms[p]` holds its new value).
    pub(super) fn raised(&mut self, wms: &[SimTime], p: usize, was: SimTime) {
        if !self.valid {
            return;
        }
        let b = p / BLOCK;
        let block = &mut self.blocks[b];
        if was == block.0 {
            block.1 -= 1;
            if block.1 == 0 {
                *block = min_and_count(&wms[b * BLOCK..((b + 1) * BLOCK).min(wms.len())]);
            }
        }
    }

    /// The minimum of `wms` and how many sit at it (zero and none for no partition).
    pub(super) fn of(&mut self, wms: &[SimTime]) -> (SimTime, u32) {
        if !self.valid {
            self.blocks.clear();
            self.blocks.extend(wms.chunks(BLOCK).map(min_and_count));
            self.valid = true;
        }
        let (mut min, mut at) = (SimTime::MAX, 0);
        for &(m, n) in &self.blocks {
            if m < min {
                (min, at) = (m, n);
            } else if m == min {
                at += n;
            }
        }
        if at == 0 { (SimTime::ZERO, 0) } else { (min, at) }
    }
}

/// The minimum of `wms` and how many sit at it (zero and none for no partition), in one pass.
pub(super) fn min_and_count(wms: &[SimTime]) -> (SimTime, u32) {
    let (mut min, mut at) = (SimTime::MAX, 0);
    for w in wms {
        if *w < min {
            (min, at) = (*w, 1);
        } else if *w == min {
            at += 1;
        }
    }
    if at == 0 { (SimTime::ZERO, 0) } else { (min, at) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::mix64;

    #[test]
    fn the_block_minima_follow_every_raise_and_agree_with_a_full_scan() {
        // 100 partitions (four blocks, the last one short), raised one at a time in a
        // pseudo-random order to pseudo-random values.
        let mut wms = vec![SimTime::ZERO; 100];
        let mut minima = Minima::default();
        assert_eq!(minima.of(&wms), (SimTime::ZERO, 100));
        for i in 0..20_000u64 {
            // Close values (many ties) in the first half, spread ones (a unique minimum) after.
            let step = if i < 10_000 { 3 } else { 1_000 };
            let p = (mix64(i) % 100) as usize;
            let was = wms[p];
            let new = SimTime(was.0 + 1 + mix64(i ^ 0xabc) % step);
            wms[p] = new;
            minima.raised(&wms, p, was);
            assert_eq!(minima.of(&wms), min_and_count(&wms), "after raise {i}");
            if i % 977 == 0 {
                // A bulk change it is not told of.
                wms.iter_mut().for_each(|w| *w = SimTime(w.0 + 5));
                minima.invalidate();
            }
        }
    }

    #[test]
    fn no_partition_has_minimum_zero_and_none_at_it() {
        assert_eq!(Minima::default().of(&[]), (SimTime::ZERO, 0));
    }
}
