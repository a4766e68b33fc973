//! The candidates `--head auto` chooses among: every head's own grid
//! ([`crate::training::heads::Head::auto_candidates`]), gathered in rank
//! order. Selection names no head; a head offers its candidates.

pub use crate::training::heads::Candidate;

/// The default candidate list, simplest first (ties go to the earlier):
/// ridge (its penalty chosen by its own inner CV), the bounded linear head,
/// the RBF SVR's grid, the MLP with its default decay and stronger ones,
/// then the mean of one SVR per width (each head's
/// [`crate::training::heads::Head::auto_candidates`], by
/// [`crate::training::heads::rank`]).
pub fn default_candidates() -> Vec<Candidate> {
    crate::training::heads::auto_candidates()
}
