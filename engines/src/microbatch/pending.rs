//! The master's pending tasks in priority order, with the policy's tasks also kept apart so that
//! a scheduling pass past the last batch it may run visits only them.
//!
//! Invariants: a key is (priority batch, stage, task); `jobs` holds exactly the keys of `all`
//! whose task is a policy task. A map or reduce task's priority batch is its batch and its stage
//! 0 (map) or 1 (reduce), so the keys (n, 1, _) are exactly batch n's waiting reduce tasks;
//! a policy task's stage is 0.

use super::model::TaskId;
use std::collections::BTreeSet;
use std::ops::Bound;

/// A pending task's key: (priority batch, stage, task).
pub type Key = (u64, u8, TaskId);

/// The pending set.
#[derive(Debug, Default)]
pub struct Pending {
    all: BTreeSet<Key>,
    jobs: BTreeSet<Key>,
}

impl Pending {
    /// Adds `key`, a policy task's if `job`.
    pub fn insert(&mut self, key: Key, job: bool) {
        self.all.insert(key);
        if job {
            self.jobs.insert(key);
        }
    }

    /// Removes `key` (nothing if it is not there).
    pub fn remove(&mut self, key: Key) {
        self.all.remove(&key);
        self.jobs.remove(&key);
    }

    /// The first key after `after` (the first of all for `None`); of a policy task only if
    /// `jobs_only`.
    pub fn next(&self, after: Option<Key>, jobs_only: bool) -> Option<Key> {
        let set = if jobs_only { &self.jobs } else { &self.all };
        let from = after.map_or(Bound::Unbounded, Bound::Excluded);
        set.range((from, Bound::Unbounded)).next().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pass_over_jobs_only_sees_the_policy_tasks_after_its_place_in_key_order() {
        let mut p = Pending::default();
        for (key, job) in [
            ((1, 0, 3), false),
            ((1, 0, 4), true),
            ((2, 0, 7), true),
            ((2, 1, 9), false),
            ((3, 0, 11), false),
        ] {
            p.insert(key, job);
        }
        let walk = |p: &Pending, jobs_only: bool, from: Option<Key>| {
            let mut seen = Vec::new();
            let mut after = from;
            while let Some(k) = p.next(after, jobs_only) {
                seen.push(k.2);
                after = Some(k);
            }
            seen
        };
        assert_eq!(walk(&p, false, None), vec![3, 4, 7, 9, 11]);
        assert_eq!(walk(&p, true, Some((1, 0, 4))), vec![7]);
        p.remove((2, 0, 7));
        assert_eq!(walk(&p, true, None), vec![4]);
        assert_eq!(walk(&p, false, Some((1, 1, TaskId::MAX))), vec![9, 11]);
    }
}
