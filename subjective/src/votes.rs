//! The vote matrix (clips x subjects x sessions, missing votes allowed) and
//! the builder that reads it from a wide table (one column per subject) or
//! from long records (clip, subject, score, optionally session), counting
//! every vote it does not keep by reason, with line examples.

use std::collections::HashMap;

use serde::Serialize;

use crate::VoteError;

/// The most cells (clips x subjects x sessions) a vote matrix may hold:
/// 64 Mi cells, 512 MB of `f64`; a bigger study is refused by name.
pub const MAX_CELLS: usize = 64 << 20;

/// How many example lines each drop reason keeps.
pub const MAX_EXAMPLES: usize = 5;

/// The declared range of a vote (inclusive), e.g. 1..5 for ACR-5 or 0..100
/// for a continuous scale.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Scale {
    /// The lowest valid vote.
    pub min: f64,
    /// The highest valid vote.
    pub max: f64,
}

impl Scale {
    /// A scale, refused unless `min < max`, both finite.
    pub fn new(min: f64, max: f64) -> Result<Scale, VoteError> {
        if min.is_finite() && max.is_finite() && min < max {
            Ok(Scale { min, max })
        } else {
            Err(VoteError::BadScale { min, max })
        }
    }
}

/// Why a vote (or a whole subject or clip) was not kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DropReason {
    /// The score cell is not a finite number.
    NotANumber,
    /// The score lies outside the declared scale.
    OutsideScale,
    /// A long record with no score.
    EmptyScore,
    /// A second vote for the same clip, subject and session (the first is kept).
    Duplicate,
    /// A subject with a single vote: no bias or inconsistency can be
    /// estimated from it (and SUREAL would give it the weight of a perfect
    /// subject); its vote is dropped.
    SubjectOneVote,
    /// A clip with no vote left.
    ClipNoVotes,
}

impl DropReason {
    /// The reason as the reports print it.
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::NotANumber => "not-a-number",
            DropReason::OutsideScale => "outside-scale",
            DropReason::EmptyScore => "empty-score",
            DropReason::Duplicate => "duplicate",
            DropReason::SubjectOneVote => "subject-one-vote",
            DropReason::ClipNoVotes => "clip-no-votes",
        }
    }
}

/// One dropped vote (or clip), for the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DropExample {
    /// The line of the table it came from (1-based, the header is line 1).
    pub line: u64,
    /// The clip.
    pub clip: String,
    /// The subject (empty for a clip with no votes).
    pub subject: String,
    /// The cell as read (empty for a subject or clip drop).
    pub value: String,
}

/// The votes (or clips) dropped for one reason.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Drop {
    /// Why.
    pub reason: DropReason,
    /// How many votes (clips, for [`DropReason::ClipNoVotes`]).
    pub count: usize,
    /// The first few, with their lines.
    pub examples: Vec<DropExample>,
}

/// The votes as a dense matrix: `clips x subjects x sessions`, `NaN` where
/// a subject did not rate a clip in a session.
#[derive(Debug, Clone, PartialEq)]
pub struct VoteMatrix {
    clips: Vec<String>,
    subjects: Vec<String>,
    sessions: Vec<String>,
    x: Vec<f64>,
}

impl VoteMatrix {
    /// A matrix from `votes[clip][subject]` (one session), `None` missing.
    /// Refused if the rows are ragged or the names do not match the shape.
    pub fn from_rows(
        clips: Vec<String>,
        subjects: Vec<String>,
        votes: &[Vec<Option<f64>>],
    ) -> Result<VoteMatrix, VoteError> {
        if votes.len() != clips.len() || votes.iter().any(|r| r.len() != subjects.len()) {
            return Err(VoteError::Shape {
                clips: clips.len(),
                subjects: subjects.len(),
            });
        }
        let x = votes
            .iter()
            .flat_map(|r| r.iter().map(|v| v.unwrap_or(f64::NAN)))
            .collect();
        Ok(VoteMatrix {
            clips,
            subjects,
            sessions: vec![String::new()],
            x,
        })
    }

    /// The clips, in the order of the table.
    pub fn clips(&self) -> &[String] {
        &self.clips
    }

    /// The subjects, in the order first seen.
    pub fn subjects(&self) -> &[String] {
        &self.subjects
    }

    /// The sessions (repetitions), sorted; one empty name without sessions.
    pub fn sessions(&self) -> &[String] {
        &self.sessions
    }

    /// Clips x subjects x sessions.
    pub fn shape(&self) -> (usize, usize, usize) {
        (self.clips.len(), self.subjects.len(), self.sessions.len())
    }

    /// The vote of subject `i` on clip `j` in session `r` (`NaN` if none).
    pub fn get(&self, j: usize, i: usize, r: usize) -> f64 {
        let (_, n_i, n_r) = self.shape();
        self.x[(j * n_i + i) * n_r + r]
    }

    /// Every cell of clip `j` (subjects x sessions), `NaN` where missing.
    pub(crate) fn clip_cells(&self, j: usize) -> &[f64] {
        let (_, n_i, n_r) = self.shape();
        &self.x[j * n_i * n_r..(j + 1) * n_i * n_r]
    }

    /// Every cell of subject `i` (clips x sessions), `NaN` where missing.
    pub(crate) fn subject_cells(&self, i: usize) -> impl Iterator<Item = f64> + '_ {
        let (n_j, n_i, n_r) = self.shape();
        (0..n_j).flat_map(move |j| (0..n_r).map(move |r| self.x[(j * n_i + i) * n_r + r]))
    }

    /// The matrix with every vote on clip `j` plus `by_clip[j]`.
    pub(crate) fn shifted(&self, by_clip: &[f64]) -> VoteMatrix {
        let per = self.subjects.len() * self.sessions.len();
        let mut out = self.clone();
        for (k, x) in out.x.iter_mut().enumerate() {
            *x += by_clip[k / per];
        }
        out
    }

    /// Votes (non-missing cells) per clip.
    pub fn votes_per_clip(&self) -> Vec<usize> {
        (0..self.clips.len())
            .map(|j| self.clip_cells(j).iter().filter(|v| !v.is_nan()).count())
            .collect()
    }

    /// Votes (non-missing cells) per subject.
    pub fn votes_per_subject(&self) -> Vec<usize> {
        (0..self.subjects.len())
            .map(|i| self.subject_cells(i).filter(|v| !v.is_nan()).count())
            .collect()
    }
}

/// What the builder kept and dropped.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VoteIngest {
    /// Votes read (non-empty cells of a wide table, records of a long one).
    pub read: usize,
    /// Votes kept in the matrix.
    pub kept: usize,
    /// What was dropped, by reason.
    pub drops: Vec<Drop>,
    /// The subjects dropped whole (no vote, or a single vote).
    pub dropped_subjects: Vec<String>,
    /// The clips dropped whole (no vote left).
    pub dropped_clips: Vec<String>,
    /// Every drop, in the order met (the report's `drops` keep only the
    /// first few examples of each reason).
    #[serde(skip)]
    pub every: Vec<(DropReason, DropExample)>,
}

#[derive(Debug, Clone)]
struct Vote {
    line: u64,
    clip: usize,
    subject: usize,
    session: usize,
    value: f64,
    cell: String,
}

/// Reads votes, wide or long, into a [`VoteMatrix`].
#[derive(Debug, Clone)]
pub struct VoteTableBuilder {
    scale: Option<Scale>,
    clips: Vec<String>,
    clip_index: HashMap<String, usize>,
    clip_line: Vec<u64>,
    subjects: Vec<String>,
    subject_index: HashMap<String, usize>,
    sessions: Vec<String>,
    session_index: HashMap<String, usize>,
    votes: Vec<Vote>,
    seen: HashMap<(usize, usize, usize), ()>,
    read: usize,
    drops: HashMap<DropReason, Drop>,
    every: Vec<(DropReason, DropExample)>,
}

fn intern(names: &mut Vec<String>, index: &mut HashMap<String, usize>, name: &str) -> usize {
    if let Some(&k) = index.get(name) {
        return k;
    }
    names.push(name.to_string());
    index.insert(name.to_string(), names.len() - 1);
    names.len() - 1
}

impl VoteTableBuilder {
    /// A builder; votes outside `scale` (when given) are dropped.
    pub fn new(scale: Option<Scale>) -> VoteTableBuilder {
        VoteTableBuilder {
            scale,
            clips: Vec::new(),
            clip_index: HashMap::new(),
            clip_line: Vec::new(),
            subjects: Vec::new(),
            subject_index: HashMap::new(),
            sessions: Vec::new(),
            session_index: HashMap::new(),
            votes: Vec::new(),
            seen: HashMap::new(),
            read: 0,
            drops: HashMap::new(),
            every: Vec::new(),
        }
    }

    fn drop(&mut self, reason: DropReason, example: DropExample) {
        let d = self.drops.entry(reason).or_insert_with(|| Drop {
            reason,
            count: 0,
            examples: Vec::new(),
        });
        d.count += 1;
        if d.examples.len() < MAX_EXAMPLES {
            d.examples.push(example.clone());
        }
        self.every.push((reason, example));
    }

    fn clip(&mut self, line: u64, clip: &str) -> usize {
        let k = intern(&mut self.clips, &mut self.clip_index, clip);
        if k == self.clip_line.len() {
            self.clip_line.push(line);
        }
        k
    }

    /// One row of a wide table: the clip and `(subject, cell)` for each
    /// subject column; an empty cell is a missing vote.
    pub fn wide_row<'a>(
        &mut self,
        line: u64,
        clip: &str,
        cells: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) {
        self.clip(line, clip);
        for (subject, cell) in cells {
            let subject_k = intern(&mut self.subjects, &mut self.subject_index, subject);
            if cell.trim().is_empty() {
                continue;
            }
            self.vote(line, clip, subject_k, None, cell);
        }
    }

    /// One long record: clip, subject, score and the session (repetition)
    /// it was given in, if the table has one.
    pub fn long_record(
        &mut self,
        line: u64,
        clip: &str,
        subject: &str,
        session: Option<&str>,
        cell: &str,
    ) {
        self.clip(line, clip);
        let subject_k = intern(&mut self.subjects, &mut self.subject_index, subject);
        if cell.trim().is_empty() {
            self.read += 1;
            self.drop(
                DropReason::EmptyScore,
                DropExample {
                    line,
                    clip: clip.to_string(),
                    subject: subject.to_string(),
                    value: String::new(),
                },
            );
            return;
        }
        self.vote(line, clip, subject_k, session, cell);
    }

    fn vote(&mut self, line: u64, clip: &str, subject: usize, session: Option<&str>, cell: &str) {
        self.read += 1;
        let clip_k = self.clip_index.get(clip).copied().unwrap_or(0);
        let example = || DropExample {
            line,
            clip: clip.to_string(),
            subject: self.subjects[subject].clone(),
            value: cell.to_string(),
        };
        let value = match cell.trim().parse::<f64>() {
            Ok(v) if v.is_finite() => v,
            _ => {
                let e = example();
                self.drop(DropReason::NotANumber, e);
                return;
            }
        };
        if let Some(s) = self.scale {
            if value < s.min || value > s.max {
                let e = example();
                self.drop(DropReason::OutsideScale, e);
                return;
            }
        }
        let session_k = intern(
            &mut self.sessions,
            &mut self.session_index,
            session.map(str::trim).unwrap_or(""),
        );
        if self.seen.insert((clip_k, subject, session_k), ()).is_some() {
            let e = example();
            self.drop(DropReason::Duplicate, e);
            return;
        }
        self.votes.push(Vote {
            line,
            clip: clip_k,
            subject,
            session: session_k,
            value,
            cell: cell.to_string(),
        });
    }

    /// The matrix and what was kept and dropped: subjects with a single
    /// vote are dropped, then clips with no vote. Errors: no vote at all,
    /// fewer than two subjects, a matrix over [`MAX_CELLS`], or no
    /// disagreement anywhere (every clip's votes all equal, as when one
    /// column was copied into every other).
    pub fn finish(mut self) -> Result<(VoteMatrix, VoteIngest), VoteError> {
        // subjects with a single vote
        let mut per_subject = vec![0usize; self.subjects.len()];
        for v in &self.votes {
            per_subject[v.subject] += 1;
        }
        let one: Vec<bool> = per_subject.iter().map(|&n| n == 1).collect();
        let mut dropped_subjects: Vec<String> = per_subject
            .iter()
            .zip(&self.subjects)
            .filter(|(&n, _)| n == 0)
            .map(|(_, s)| s.clone())
            .collect();
        let (single, votes): (Vec<Vote>, Vec<Vote>) = std::mem::take(&mut self.votes)
            .into_iter()
            .partition(|v| one[v.subject]);
        for v in single {
            dropped_subjects.push(self.subjects[v.subject].clone());
            let e = DropExample {
                line: v.line,
                clip: self.clips[v.clip].clone(),
                subject: self.subjects[v.subject].clone(),
                value: v.cell.clone(),
            };
            self.drop(DropReason::SubjectOneVote, e);
        }
        // clips with no vote
        let mut per_clip = vec![0usize; self.clips.len()];
        for v in &votes {
            per_clip[v.clip] += 1;
        }
        let mut dropped_clips = Vec::new();
        for (j, &n) in per_clip.iter().enumerate() {
            if n == 0 {
                dropped_clips.push(self.clips[j].clone());
                let e = DropExample {
                    line: self.clip_line[j],
                    clip: self.clips[j].clone(),
                    subject: String::new(),
                    value: String::new(),
                };
                self.drop(DropReason::ClipNoVotes, e);
            }
        }
        if votes.is_empty() {
            return Err(VoteError::NoVotes { read: self.read });
        }
        // renumber what is left: clips and subjects in first-seen order,
        // sessions sorted by name
        let clip_new = renumber(&per_clip.iter().map(|&n| n > 0).collect::<Vec<_>>());
        let subject_has: Vec<bool> = per_subject.iter().map(|&n| n >= 2).collect();
        let subject_new = renumber(&subject_has);
        let mut session_order: Vec<usize> = (0..self.sessions.len())
            .filter(|&r| votes.iter().any(|v| v.session == r))
            .collect();
        session_order.sort_by(|&a, &b| self.sessions[a].cmp(&self.sessions[b]));
        let mut session_new = vec![None; self.sessions.len()];
        for (k, &r) in session_order.iter().enumerate() {
            session_new[r] = Some(k);
        }
        let clips: Vec<String> = keep_names(&self.clips, &clip_new);
        let subjects: Vec<String> = keep_names(&self.subjects, &subject_new);
        let sessions: Vec<String> = session_order
            .iter()
            .map(|&r| self.sessions[r].clone())
            .collect();
        if subjects.len() < 2 {
            return Err(VoteError::TooFewSubjects {
                subjects: subjects.len(),
            });
        }
        let (n_j, n_i, n_r) = (clips.len(), subjects.len(), sessions.len());
        let cells = n_j
            .checked_mul(n_i)
            .and_then(|c| c.checked_mul(n_r))
            .filter(|&c| c <= MAX_CELLS)
            .ok_or(VoteError::TooLarge {
                clips: n_j,
                subjects: n_i,
                sessions: n_r,
            })?;
        let mut x = vec![f64::NAN; cells];
        for v in &votes {
            if let (Some(j), Some(i), Some(r)) = (
                clip_new[v.clip],
                subject_new[v.subject],
                session_new[v.session],
            ) {
                x[(j * n_i + i) * n_r + r] = v.value;
            }
        }
        let matrix = VoteMatrix {
            clips,
            subjects,
            sessions,
            x,
        };
        let disagreement = (0..n_j).any(|j| {
            let mut it = matrix.clip_cells(j).iter().filter(|v| !v.is_nan());
            match it.next() {
                Some(first) => it.any(|v| v != first),
                None => false,
            }
        });
        if !disagreement {
            return Err(VoteError::NoDisagreement {
                clips: n_j,
                subjects: n_i,
            });
        }
        let mut drops: Vec<Drop> = self.drops.into_values().collect();
        drops.sort_by_key(|d| d.reason);
        Ok((
            matrix,
            VoteIngest {
                read: self.read,
                kept: votes.len(),
                drops,
                dropped_subjects,
                dropped_clips,
                every: self.every,
            },
        ))
    }
}

fn renumber(keep: &[bool]) -> Vec<Option<usize>> {
    let mut k = 0;
    keep.iter()
        .map(|&kept| {
            kept.then(|| {
                k += 1;
                k - 1
            })
        })
        .collect()
}

fn keep_names(names: &[String], new: &[Option<usize>]) -> Vec<String> {
    names
        .iter()
        .zip(new)
        .filter(|(_, n)| n.is_some())
        .map(|(s, _)| s.clone())
        .collect()
}
