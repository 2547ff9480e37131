//! Barrier alignment as a small pure counter (the decision, without I/O): which inputs of a
//! task are blocked, and when checkpoint `id` has its barrier on every input.
//!
//! Invariants: at most one checkpoint is being aligned; an input is blocked only while the
//! current checkpoint is incomplete, the input has delivered its barrier, and blocking is on
//! (aligned mode, not released by an aligned-checkpoint timeout); a barrier of an older
//! checkpoint, or a second barrier on the same input, changes nothing; a barrier of a newer
//! checkpoint abandons the current one (Flink aborts that alignment) and starts the new one.

/// What one barrier meant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// The first barrier of this checkpoint at this task (unaligned: snapshot now).
    pub first: bool,
    /// Every input has now delivered this checkpoint's barrier (aligned: snapshot, forward,
    /// unblock; unaligned: the in-flight data is complete).
    pub complete: bool,
}

/// The alignment of one task with a fixed number of inputs.
#[derive(Debug, Clone)]
pub struct Aligner {
    blocking: bool,
    released: bool,
    current: Option<u64>,
    seen: Vec<bool>,
    count: usize,
}

impl Aligner {
    /// A task with `inputs` inputs; `blocking` holds inputs back (aligned mode) or only counts.
    pub fn new(inputs: usize, blocking: bool) -> Aligner {
        Aligner {
            blocking,
            released: false,
            current: None,
            seen: vec![false; inputs],
            count: 0,
        }
    }

    /// Barrier `id` arrived on `input`; `None` if it is stale or a repeat.
    pub fn on_barrier(&mut self, input: usize, id: u64) -> Option<Progress> {
        let first = match self.current {
            Some(c) if id < c => return None,
            Some(c) if id == c => false,
            _ => {
                self.current = Some(id);
                self.released = false;
                self.seen.iter_mut().for_each(|s| *s = false);
                self.count = 0;
                true
            }
        };
        let seen = self.seen.get_mut(input)?;
        if *seen {
            return None;
        }
        *seen = true;
        self.count += 1;
        let complete = self.count == self.seen.len();
        if complete {
            self.current = None;
        }
        Some(Progress { first, complete })
    }

    /// Whether records on `input` must wait (its barrier is in, others are not).
    pub fn is_blocked(&self, input: usize) -> bool {
        self.blocking && !self.released && self.current.is_some() && self.seen.get(input).copied().unwrap_or(false)
    }

    /// Whether `input` has delivered the barrier of the checkpoint being aligned.
    pub fn has_barrier(&self, input: usize) -> bool {
        self.current.is_some() && self.seen.get(input).copied().unwrap_or(false)
    }

    /// The checkpoint being aligned, if any.
    pub fn pending(&self) -> Option<u64> {
        self.current
    }

    /// Stops blocking for the current checkpoint (aligned → unaligned on timeout); barriers
    /// are still counted until every input has delivered one.
    pub fn release(&mut self) {
        self.released = true;
    }

    /// Forgets any alignment in progress (job restart).
    pub fn reset(&mut self) {
        self.current = None;
        self.released = false;
        self.seen.iter_mut().for_each(|s| *s = false);
        self.count = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_input_whose_barrier_arrived_is_blocked_until_all_inputs_have_it() {
        let mut a = Aligner::new(3, true);
        assert_eq!(
            a.on_barrier(1, 5),
            Some(Progress {
                first: true,
                complete: false
            })
        );
        assert!(a.is_blocked(1) && !a.is_blocked(0) && !a.is_blocked(2));
        assert_eq!(
            a.on_barrier(0, 5),
            Some(Progress {
                first: false,
                complete: false
            })
        );
        assert!(a.is_blocked(0) && a.is_blocked(1));
        let last = a.on_barrier(2, 5);
        assert_eq!(
            last,
            Some(Progress {
                first: false,
                complete: true
            })
        );
        assert!((0..3).all(|i| !a.is_blocked(i)), "all inputs unblock once aligned");
        assert_eq!(a.pending(), None);
    }

    #[test]
    fn a_single_input_task_is_aligned_by_its_first_barrier() {
        let mut a = Aligner::new(1, true);
        assert_eq!(
            a.on_barrier(0, 1),
            Some(Progress {
                first: true,
                complete: true
            })
        );
        assert!(!a.is_blocked(0));
    }

    #[test]
    fn counting_mode_never_blocks_but_still_completes() {
        let mut a = Aligner::new(2, false);
        assert!(a.on_barrier(0, 1).is_some_and(|p| p.first && !p.complete));
        assert!(!a.is_blocked(0) && a.has_barrier(0));
        assert!(a.on_barrier(1, 1).is_some_and(|p| p.complete));
    }

    #[test]
    fn stale_and_repeated_barriers_change_nothing() {
        let mut a = Aligner::new(2, true);
        a.on_barrier(0, 4);
        assert_eq!(a.on_barrier(0, 4), None, "second barrier on the same input");
        assert_eq!(a.on_barrier(1, 3), None, "older checkpoint");
        assert_eq!(a.pending(), Some(4));
        assert!(a.is_blocked(0) && !a.is_blocked(1));
    }

    #[test]
    fn a_newer_barrier_abandons_the_current_alignment() {
        let mut a = Aligner::new(2, true);
        a.on_barrier(0, 4);
        assert!(a.on_barrier(1, 5).is_some_and(|p| p.first && !p.complete));
        assert!(
            !a.is_blocked(0) && a.is_blocked(1),
            "input 0 is free again, input 1 waits for 5"
        );
        assert_eq!(a.pending(), Some(5));
    }

    #[test]
    fn releasing_unblocks_but_keeps_counting() {
        let mut a = Aligner::new(2, true);
        a.on_barrier(0, 1);
        a.release();
        assert!(!a.is_blocked(0));
        assert!(a.on_barrier(1, 1).is_some_and(|p| p.complete));
        a.on_barrier(0, 2);
        assert!(a.is_blocked(0), "the next checkpoint aligns again");
    }
}
