//! Checking promises under many fault plans: the judge of one run ([`judge`](mod@judge)), fault plans drawn
//! from a seed ([`plan`]) and the campaign of `ftsim check` ([`campaign`]). The property suite in
//! tests/ uses the same judge.

pub mod campaign;
pub mod judge;
pub mod plan;

pub use judge::{Outcome, Strictness, judge, judge_with};
