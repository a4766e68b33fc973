//! `moshead adapters new`: a study file written from a labels table. The
//! table's columns are read (CSV, TSV or JSONL, bounded), each role guessed
//! from the column names and values (clip id, MOS, content, SD, vote count,
//! CI95, split; or a wide or long table of raw votes), the native scale
//! from the range of the scores, and the result rendered as a study file
//! that [`moshead_sdk::study::Study::parse`] accepts. Every guess is listed
//! with what to check; nothing is written here (the CLI writes).

pub mod rust;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use moshead_sdk::study::Study;

use crate::safe_fs::{read_bounded, Links};

/// The largest labels table `adapters new` reads (it only looks).
pub const MAX_TABLE_BYTES: u64 = 256 << 20;

/// Why no study file could be written.
#[derive(Debug, thiserror::Error)]
pub enum NewStudyError {
    /// The table cannot be read.
    #[error("{file}: {reason}")]
    Table {
        /// The table, as named.
        file: String,
        /// What is wrong.
        reason: String,
    },
    /// A role could not be guessed.
    #[error("{file}: {reason}")]
    Guess {
        /// The table, as named.
        file: String,
        /// What could not be guessed, and how to help.
        reason: String,
    },
    /// The study written does not parse (a name that is no adapter name).
    #[error("{0}")]
    Study(String),
}

/// A table's columns, in order, and its records as text cells (`None`:
/// empty or absent).
#[derive(Debug, Clone, Default)]
pub struct Table {
    /// The column names.
    pub columns: Vec<String>,
    /// One cell per column per record.
    pub rows: Vec<Vec<Option<String>>>,
    /// `csv`, `tsv` or `jsonl`.
    pub format: &'static str,
}

impl Table {
    /// Reads a CSV, TSV or JSONL table (by extension; `.gz` and other
    /// compression are not read here).
    pub fn read(path: &Path) -> Result<Table, NewStudyError> {
        let file = path.display().to_string();
        let bad = |reason: String| NewStudyError::Table {
            file: file.clone(),
            reason,
        };
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default()
            .to_ascii_lowercase();
        let bytes =
            read_bounded(path, MAX_TABLE_BYTES, Links::Follow).map_err(|e| bad(e.reason))?;
        let text = String::from_utf8(bytes).map_err(|e| {
            bad(format!(
                "is not UTF-8 text (byte {})",
                e.utf8_error().valid_up_to()
            ))
        })?;
        match ext.as_str() {
            "csv" => Table::delimited(&text, b',', "csv").map_err(bad),
            "tsv" | "tab" => Table::delimited(&text, b'\t', "tsv").map_err(bad),
            "jsonl" | "ndjson" => Table::jsonl(&text).map_err(bad),
            other => Err(bad(format!(
                "`.{other}` is not a table `adapters new` reads: give a .csv, .tsv or .jsonl labels table"
            ))),
        }
    }

    fn delimited(text: &str, delimiter: u8, format: &'static str) -> Result<Table, String> {
        let mut r = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .from_reader(text.as_bytes());
        let columns: Vec<String> = r
            .headers()
            .map_err(|e| format!("line 1: {e}"))?
            .iter()
            .map(|h| h.trim().trim_start_matches('\u{feff}').to_owned())
            .collect();
        if columns.iter().all(String::is_empty) {
            return Err("line 1: the header names no column".into());
        }
        let mut rows = Vec::new();
        for rec in r.records() {
            let rec = rec.map_err(|e| {
                let line = e.position().map_or(0, |p| p.line());
                format!("line {line}: {e}")
            })?;
            rows.push(
                (0..columns.len())
                    .map(|i| {
                        rec.get(i)
                            .map(str::trim)
                            .filter(|c| !c.is_empty())
                            .map(str::to_owned)
                    })
                    .collect(),
            );
        }
        Ok(Table {
            columns,
            rows,
            format,
        })
    }

    fn jsonl(text: &str) -> Result<Table, String> {
        let mut columns: Vec<String> = Vec::new();
        let mut objects = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let v: serde_json::Value =
                serde_json::from_str(line).map_err(|e| format!("line {}: {e}", i + 1))?;
            let serde_json::Value::Object(o) = v else {
                return Err(format!("line {}: a record is not a JSON object", i + 1));
            };
            for k in o.keys() {
                if !columns.contains(k) {
                    columns.push(k.clone());
                }
            }
            objects.push(o);
        }
        let rows = objects
            .iter()
            .map(|o| {
                columns
                    .iter()
                    .map(|c| match o.get(c) {
                        None | Some(serde_json::Value::Null) => None,
                        Some(serde_json::Value::String(s)) if s.trim().is_empty() => None,
                        Some(serde_json::Value::String(s)) => Some(s.trim().to_owned()),
                        Some(v) => Some(v.to_string()),
                    })
                    .collect()
            })
            .collect();
        Ok(Table {
            columns,
            rows,
            format: "jsonl",
        })
    }

    fn cells(&self, col: usize) -> impl Iterator<Item = &str> {
        self.rows
            .iter()
            .filter_map(move |r| r.get(col).and_then(|c| c.as_deref()))
    }

    /// Whether every non-empty cell of `col` is a finite number (and one is).
    fn numeric(&self, col: usize) -> bool {
        let mut any = false;
        for c in self.cells(col) {
            match c.parse::<f64>() {
                Ok(x) if x.is_finite() => any = true,
                _ => return false,
            }
        }
        any
    }

    /// Whether more than half the non-empty cells of `col` are finite
    /// numbers (a vote column may hold the odd `n/a`).
    fn mostly_numeric(&self, col: usize) -> bool {
        let (mut num, mut all) = (0usize, 0usize);
        for c in self.cells(col) {
            all += 1;
            if c.parse::<f64>().is_ok_and(f64::is_finite) {
                num += 1;
            }
        }
        num * 2 > all
    }

    fn range(&self, cols: &[usize]) -> Option<(f64, f64)> {
        let mut r: Option<(f64, f64)> = None;
        for &col in cols {
            for x in self
                .cells(col)
                .filter_map(|c| c.parse::<f64>().ok())
                .filter(|x| x.is_finite())
            {
                r = Some(r.map_or((x, x), |(lo, hi)| (lo.min(x), hi.max(x))));
            }
        }
        r
    }

    fn distinct(&self, col: usize) -> usize {
        self.cells(col).collect::<BTreeSet<_>>().len()
    }

    fn find(&self, names: &[&str]) -> Option<usize> {
        names.iter().find_map(|n| {
            self.columns
                .iter()
                .position(|c| c.to_ascii_lowercase() == *n)
        })
    }
}

/// How the table carries its scores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scores {
    /// One MOS per clip, in this column.
    Mos(String),
    /// One column per subject.
    WideVotes(Vec<String>),
    /// One record per vote.
    LongVotes {
        /// The subject column.
        subject: String,
        /// The score column.
        score: String,
        /// The session column, if any.
        session: Option<String>,
    },
}

/// What `adapters new` guessed.
#[derive(Debug, Clone)]
pub struct Guess {
    /// The clip id column.
    pub id: String,
    /// The scores.
    pub scores: Scores,
    /// The content column, or the id separator, or neither.
    pub content: Content,
    /// Optional role columns: `sd`, `votes`, `ci95`, `split`.
    pub roles: BTreeMap<&'static str, String>,
    /// The native scale.
    pub scale: (f64, f64),
    /// The range of the scores seen.
    pub seen: (f64, f64),
    /// Records read.
    pub rows: usize,
    /// Distinct clips.
    pub clips: usize,
    /// Feature columns (a table without logs), `None` when it holds
    /// libvmaf's canonical six.
    pub features: Option<Vec<String>>,
}

/// How contents were guessed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// A column.
    Column(String),
    /// The id before its last occurrence of this separator.
    IdBeforeLast(String),
    /// Every clip is its own content.
    EachRow,
}

const ID_NAMES: &[&str] = &[
    "clip",
    "id",
    "clip_id",
    "clip_name",
    "video",
    "video_name",
    "video_id",
    "name",
    "filename",
    "file",
    "stimulus",
    "asset",
    "dis",
    "pvs",
    "pvs_id",
    "encode",
];
const MOS_NAMES: &[&str] = &[
    "mos",
    "mos_0_100",
    "mean_opinion_score",
    "score",
    "mean",
    "rating",
    "quality",
    "zmos",
];
const CONTENT_NAMES: &[&str] = &[
    "src",
    "source",
    "content",
    "content_id",
    "src_id",
    "source_id",
    "ref",
    "reference",
    "scene",
    "sequence",
    "seq",
    "src_name",
    "source_name",
];
const SD_NAMES: &[&str] = &[
    "sd", "std", "stdev", "std_dev", "mos_std", "mos_sd", "sigma", "sos",
];
const N_NAMES: &[&str] = &[
    "n",
    "votes",
    "num_votes",
    "n_votes",
    "nvotes",
    "count",
    "num_ratings",
    "raters",
    "n_ratings",
];
const CI_NAMES: &[&str] = &[
    "ci95",
    "ci",
    "ci_95",
    "mos_ci",
    "mos_ci95",
    "ci95_half_width",
];
const SPLIT_NAMES: &[&str] = &["split", "set", "partition", "subset"];
const SUBJECT_NAMES: &[&str] = &[
    "subject",
    "subject_id",
    "rater",
    "rater_id",
    "observer",
    "viewer",
    "participant",
    "user",
    "worker",
    "worker_id",
    "assessor",
];
const VOTE_NAMES: &[&str] = &["score", "vote", "rating", "opinion_score", "os", "value"];
const SESSION_NAMES: &[&str] = &["session", "repetition", "rep", "round", "trial"];

/// The usual scale holding `[lo, hi]`.
fn scale_of(lo: f64, hi: f64) -> (f64, f64) {
    if lo >= 0.0 {
        // 1-5 and 1-10 start at 1 when no score is below; 0-1 and 0-100 at 0.
        let from = if lo >= 1.0 { 1.0 } else { 0.0 };
        for (top, low) in [(1.0, 0.0), (5.0, from), (10.0, from), (100.0, 0.0)] {
            if hi <= top {
                return (low, top);
            }
        }
    }
    (lo.floor(), hi.ceil())
}

/// Guesses the roles of `table`'s columns. `with_logs`: the features come
/// from libvmaf logs, so the table's other numeric columns are not features.
pub fn guess(table: &Table, file: &str, with_logs: bool) -> Result<Guess, NewStudyError> {
    let fail = |reason: String| NewStudyError::Guess {
        file: file.to_owned(),
        reason,
    };
    if table.rows.is_empty() {
        return Err(fail("has no records below its header".into()));
    }
    let n = table.columns.len();
    let name = |i: usize| table.columns[i].clone();
    // The id: a known name, else the first column of distinct non-numbers.
    let id = table
        .find(ID_NAMES)
        .or_else(|| (0..n).find(|&i| !table.numeric(i) && table.distinct(i) == table.rows.len()))
        .ok_or_else(|| {
            fail(format!(
                "no column looks like a clip id (a name like {}, or text distinct on every line): columns are {}",
                ID_NAMES[..4].join(", "),
                table.columns.join(", ")
            ))
        })?;
    let clips = table.distinct(id);
    let mut used: BTreeSet<usize> = BTreeSet::from([id]);

    let scores = guess_scores(table, id, &mut used).map_err(fail)?;
    let roles = guess_roles(table, &scores, &mut used);
    let content = guess_content(table, id, clips, &mut used);
    let scores = match scores {
        Scores::WideVotes(_) => Scores::WideVotes(wide_subjects(table, &mut used).map_err(fail)?),
        other => other,
    };
    let score_cols: Vec<usize> = match &scores {
        Scores::Mos(c) => vec![c.as_str()],
        Scores::WideVotes(s) => s.iter().map(String::as_str).collect(),
        Scores::LongVotes { score, .. } => vec![score.as_str()],
    }
    .iter()
    .filter_map(|c| table.columns.iter().position(|x| x == c))
    .collect();
    let seen = table
        .range(&score_cols)
        .ok_or_else(|| fail("holds no numeric score".into()))?;

    // Features in the table itself (no logs): libvmaf's six, or the numbers left.
    let features = if with_logs || matches!(scores, Scores::WideVotes(_)) {
        None
    } else {
        table_features(table, &used).map_err(fail)?
    };
    Ok(Guess {
        id: name(id),
        scores,
        content,
        roles,
        scale: scale_of(seen.0, seen.1),
        seen,
        rows: table.rows.len(),
        clips,
        features,
    })
}

/// The scores' columns: a long vote table (clip ids repeat beside a
/// subject column), a MOS column, or a wide vote table (its subjects found
/// later by [`wide_subjects`]); `Err` is the reason.
fn guess_scores(table: &Table, id: usize, used: &mut BTreeSet<usize>) -> Result<Scores, String> {
    let name = |i: usize| table.columns[i].clone();
    let repeated = table.distinct(id) < table.rows.len();
    // A long vote table: a subject column, a score column, ids repeating.
    let subject = table.find(SUBJECT_NAMES).filter(|&s| s != id);
    Ok(if let (true, Some(subject)) = (repeated, subject) {
        used.insert(subject);
        let score = table
            .find(VOTE_NAMES)
            .filter(|i| !used.contains(i) && table.mostly_numeric(*i))
            .ok_or_else(|| {
                format!(
                    "looks like a long vote table (clip ids repeat, `{}` names the subject) but no numeric column is named like a vote ({})",
                    name(subject),
                    VOTE_NAMES.join(", ")
                )
            })?;
        used.insert(score);
        let session = table.find(SESSION_NAMES).filter(|i| !used.contains(i));
        used.extend(session);
        Scores::LongVotes {
            subject: name(subject),
            score: name(score),
            session: session.map(name),
        }
    } else if repeated {
        let mut seen = BTreeSet::new();
        let dup = table
            .rows
            .iter()
            .enumerate()
            .find_map(|(r, row)| {
                let v = row.get(id)?.as_deref()?;
                (!seen.insert(v)).then(|| (r, v.to_owned()))
            })
            .unwrap_or_default();
        return Err(format!(
            "clip id `{}` (column `{}`) appears twice (record {}): one record per clip, or a long vote table with a subject column ({})",
            dup.1,
            name(id),
            dup.0 + 1,
            SUBJECT_NAMES[..4].join(", ")
        ));
    } else if let Some(mos) = table
        .find(MOS_NAMES)
        .filter(|i| !used.contains(i) && table.numeric(*i))
    {
        used.insert(mos);
        Scores::Mos(name(mos))
    } else {
        Scores::WideVotes(Vec::new())
    })
}

/// The other roles (spread, vote count, CI, split), by name; vote tables
/// recover all but the split from the votes.
fn guess_roles(
    table: &Table,
    scores: &Scores,
    used: &mut BTreeSet<usize>,
) -> BTreeMap<&'static str, String> {
    let name = |i: usize| table.columns[i].clone();
    let mut roles: BTreeMap<&'static str, String> = BTreeMap::new();
    for (role, names) in [
        ("sd", SD_NAMES),
        ("votes", N_NAMES),
        ("ci95", CI_NAMES),
        ("split", SPLIT_NAMES),
    ] {
        let is_votes = !matches!(scores, Scores::Mos(_));
        if is_votes && role != "split" {
            continue; // recovered from the votes
        }
        let found = table.find(names).filter(|i| !used.contains(i));
        let fits = |i: usize| match role {
            "split" => table
                .cells(i)
                .all(|c| matches!(c.to_ascii_lowercase().as_str(), "train" | "val" | "test")),
            _ => table.numeric(i),
        };
        if let Some(i) = found.filter(|&i| fits(i)) {
            used.insert(i);
            roles.insert(role, name(i));
        }
    }

    roles
}

/// The contents: a column, else the id's part before its last `_`, else
/// each row its own.
fn guess_content(table: &Table, id: usize, clips: usize, used: &mut BTreeSet<usize>) -> Content {
    let name = |i: usize| table.columns[i].clone();
    match table
        .find(CONTENT_NAMES)
        .filter(|i| !used.contains(i) && table.distinct(*i) < clips)
    {
        Some(i) => {
            used.insert(i);
            Content::Column(name(i))
        }
        None => {
            let groups: BTreeSet<&str> = table
                .cells(id)
                .filter_map(|c| c.rsplit_once('_').map(|(head, _)| head))
                .collect();
            let all_split = table.cells(id).all(|c| c.contains('_'));
            if all_split && groups.len() >= 2 && groups.len() < clips {
                Content::IdBeforeLast("_".into())
            } else {
                Content::EachRow
            }
        }
    }
}

/// A wide vote table's subjects: every other mostly numeric column (at
/// least two); `Err` is the reason.
fn wide_subjects(table: &Table, used: &mut BTreeSet<usize>) -> Result<Vec<String>, String> {
    let name = |i: usize| table.columns[i].clone();
    let subjects: Vec<String> = (0..table.columns.len())
        .filter(|i| !used.contains(i) && table.mostly_numeric(*i))
        .map(name)
        .collect();
    if subjects.len() < 2 {
        return Err(format!(
            "no MOS column (a numeric column named like {}) and not a wide vote table (numeric columns, one per subject): columns are {}",
            MOS_NAMES[..3].join(", "),
            table.columns.join(", ")
        ));
    }
    for s in &subjects {
        if let Some(i) = table.columns.iter().position(|c| c == s) {
            used.insert(i);
        }
    }
    Ok(subjects)
}

/// Features in the table itself: none when it holds libvmaf's six, else
/// the numeric columns left; `Err` when none is left.
fn table_features(table: &Table, used: &BTreeSet<usize>) -> Result<Option<Vec<String>>, String> {
    let name = |i: usize| table.columns[i].clone();
    let n = table.columns.len();
    let canonical = moshead_sdk::schemas::CANONICAL;
    Ok(
        if canonical
            .iter()
            .all(|f| table.columns.iter().any(|c| c == f))
        {
            None
        } else {
            let rest: Vec<String> = (0..n)
                .filter(|i| !used.contains(i) && table.numeric(*i))
                .map(name)
                .collect();
            if rest.is_empty() {
                return Err(
                "holds no feature column and no `--logs` directory was given: give the libvmaf logs with `--logs DIR`".into(),
            );
            }
            Some(rest)
        },
    )
}

/// Where the study's inputs are, as the study file names them.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// The labels table, relative to the study file's directory if possible.
    pub labels: String,
    /// Its format.
    pub format: &'static str,
    /// The libvmaf log directory, likewise.
    pub logs: Option<String>,
}

/// A TOML basic string (JSON's escapes are TOML's).
fn quoted(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

/// A TOML float (finite: the scores were checked).
fn number(x: f64) -> String {
    format!("{x:?}")
}

/// Renders the study file of `guess`, checked by parsing it back.
pub fn render(name: &str, guess: &Guess, inputs: &Inputs) -> Result<String, NewStudyError> {
    let (lo, hi) = guess.scale;
    let mut t = String::new();
    t.push_str(&format!(
        "# Written by `moshead adapters new {name}` from {}: check every line marked CHECK.\n",
        inputs.labels
    ));
    t.push_str("# Every key: docs/study-file.md\nformat = 1\n");
    t.push_str(&format!("name = {}\nversion = \"1.0.0\"\n", quoted(name)));
    t.push_str(&format!(
        "description = {}  # CHECK: one line saying what the study is\n",
        quoted(&format!("{name}: {} clips, MOS {lo}-{hi}", guess.clips))
    ));
    t.push_str(
        "licence = \"State the study's licence here.\"  # CHECK: the model card carries it\n\n",
    );
    t.push_str(&format!(
        "[scale]  # CHECK: the scores seen range {}-{}\nmin = {}\nmax = {}\n\n",
        number(guess.seen.0),
        number(guess.seen.1),
        number(lo),
        number(hi)
    ));
    t.push_str(&format!("[columns]\nid = {}\n", quoted(&guess.id)));
    match &guess.scores {
        Scores::Mos(m) => t.push_str(&format!("mos = {}\n", quoted(m))),
        _ => t.push_str("# mos: the score recovered from the votes (see [votes])\n"),
    }
    if let Content::Column(c) = &guess.content {
        t.push_str(&format!(
            "content = {}  # encodes of one source stay on one side of every fold\n",
            quoted(c)
        ));
    }
    for (role, col) in &guess.roles {
        t.push_str(&format!("{role} = {}\n", quoted(col)));
    }
    match &guess.content {
        Content::IdBeforeLast(sep) => t.push_str(&format!(
            "\n[contents]  # CHECK: the content (source) is the clip id before its last {}\nid_before_last = {}\n",
            quoted(sep),
            quoted(sep)
        )),
        Content::EachRow => t.push_str(
            "# CHECK: no content column or id pattern found, so every clip is its own content and\n# encodes of one source can fall on both sides of a fold: name one (`content = \"src\"`)\n",
        ),
        Content::Column(_) => {}
    }
    match &guess.scores {
        Scores::Mos(_) => {}
        Scores::WideVotes(subjects) => t.push_str(&format!(
            "\n[votes]  # raw votes, one column per subject ({} subjects)\nlayout = \"wide\"\nsubjects = [{}]\n",
            subjects.len(),
            subjects.iter().map(|s| quoted(s)).collect::<Vec<_>>().join(", ")
        )),
        Scores::LongVotes {
            subject,
            score,
            session,
        } => {
            t.push_str(&format!(
                "\n[votes]  # raw votes, one record per vote\nlayout = \"long\"\nsubject = {}\nscore = {}\n",
                quoted(subject),
                quoted(score)
            ));
            if let Some(s) = session {
                t.push_str(&format!("session = {}\n", quoted(s)));
            }
        }
    }
    t.push_str(&format!(
        "\n[labels]\npath = {}\nformats = [{}]\n",
        quoted(&inputs.labels),
        quoted(inputs.format)
    ));
    if let Some(logs) = &inputs.logs {
        t.push_str(&format!(
            "\n[logs]  # libvmaf JSON logs (`vmaf --json`), one per clip, named <clip id>.json\npath = {}\n",
            quoted(logs)
        ));
    }
    if let Some(cols) = &guess.features {
        t.push_str(&format!(
            "\n[schema]  # CHECK: the feature columns, in the order the model takes them\ncolumns = [{}]\n",
            cols.iter().map(|s| quoted(s)).collect::<Vec<_>>().join(", ")
        ));
    }
    // No threshold is guessed: a gate is the team's own decision, and a
    // study without one reports "no gate declared" rather than a verdict
    // against a number nobody chose.
    t.push_str(
        "\n# CHECK: your own acceptance thresholds, if any (without a [gate], runs report\n\
         # \"no gate declared\"; keys in docs/study-file.md); for example:\n\
         # [gate]\n# plcc_min = 0.7\n",
    );
    Study::parse(&t, &format!("{name}.toml")).map_err(|e| NewStudyError::Study(e.to_string()))?;
    Ok(t)
}

/// The lines `adapters new` prints: what it guessed and what to check.
pub fn describe(guess: &Guess) -> Vec<String> {
    let mut out = vec![format!(
        "read {} records, {} clips; clip id: `{}`",
        guess.rows, guess.clips, guess.id
    )];
    out.push(match &guess.scores {
        Scores::Mos(m) => format!("MOS: `{m}`"),
        Scores::WideVotes(s) => format!(
            "raw votes, wide: {} subject columns ({}); the MOS is recovered by the subjective model",
            s.len(),
            s.join(", ")
        ),
        Scores::LongVotes {
            subject,
            score,
            session,
        } => format!(
            "raw votes, long: subject `{subject}`, score `{score}`{}; the MOS is recovered by the subjective model",
            session
                .as_ref()
                .map(|s| format!(", session `{s}`"))
                .unwrap_or_default()
        ),
    });
    for (role, col) in &guess.roles {
        out.push(format!("{role}: `{col}`"));
    }
    out.push(match &guess.content {
        Content::Column(c) => format!("content (source): `{c}`"),
        Content::IdBeforeLast(s) => format!("content (source): the clip id before its last `{s}`"),
        Content::EachRow => "content: none found, every clip is its own content".into(),
    });
    out.push(format!(
        "scale: {}-{} (scores seen {}-{})",
        guess.scale.0, guess.scale.1, guess.seen.0, guess.seen.1
    ));
    out
}

/// The path of `target` relative to `base` when `target` is below it,
/// else `target` made absolute.
pub fn relative_to(base: &Path, target: &Path) -> String {
    let abs = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let (b, t) = (abs(base), abs(target));
    match t.strip_prefix(&b) {
        Ok(rel) if !rel.as_os_str().is_empty() => rel.display().to_string(),
        _ => t.display().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> Table {
        Table::delimited(text, b',', "csv").unwrap()
    }

    fn inputs(logs: bool) -> Inputs {
        Inputs {
            labels: "labels.csv".into(),
            format: "csv",
            logs: logs.then(|| "logs".into()),
        }
    }

    #[test]
    fn a_mos_table_gives_its_roles_and_scale() {
        let t = table(
            "Clip,src,MOS,sd,n\na_crf23,a,71.5,12,20\na_crf35,a,40,11,20\nb_crf23,b,66,9,19\n",
        );
        let g = guess(&t, "l.csv", true).unwrap();
        assert_eq!(g.id, "Clip");
        assert_eq!(g.scores, Scores::Mos("MOS".into()));
        assert_eq!(g.content, Content::Column("src".into()));
        assert_eq!(g.roles["sd"], "sd");
        assert_eq!(g.roles["votes"], "n");
        assert_eq!((g.scale, g.seen), ((0.0, 100.0), (40.0, 71.5)));
        let text = render("my-study", &g, &inputs(true)).unwrap();
        let s = Study::parse(&text, "x").unwrap();
        assert_eq!(s.columns.mos, "MOS");
        assert_eq!(s.columns.sd.as_deref(), Some("sd"));
        assert_eq!(s.columns.votes.as_deref(), Some("n"));
        assert_eq!(s.scale, (0.0, 100.0));
        assert!(s.logs.is_some() && s.votes.is_none());
        // No threshold is guessed: the study declares no gate until the
        // team writes one (the example is commented out).
        assert!(s.gate.is_none(), "{text}");
        assert!(text.contains("\n# [gate]\n# plcc_min = 0.7\n"), "{text}");
    }

    #[test]
    fn contents_come_from_a_column_an_id_pattern_or_nowhere() {
        let t = table("clip,mos\nsrc1_q1,3\nsrc1_q2,4\nsrc2_q1,2\n");
        let g = guess(&t, "l", true).unwrap();
        assert_eq!(g.content, Content::IdBeforeLast("_".into()));
        assert_eq!(g.scale, (1.0, 5.0));
        let t = table("clip,mos\na,3\nb,4.5\nc,0.5\n");
        let g = guess(&t, "l", true).unwrap();
        assert_eq!((g.content.clone(), g.scale), (Content::EachRow, (0.0, 5.0)));
        let text = render("s", &g, &inputs(true)).unwrap();
        assert!(text.contains("every clip is its own content"), "{text}");
    }

    #[test]
    fn wide_and_long_vote_tables_are_recognised() {
        let t = table("clip,src,s01,s02,s03\nc1,a,3,4,\nc2,a,5,n/a,4\nc3,b,1,2,2\n");
        let g = guess(&t, "l", true).unwrap();
        assert_eq!(
            g.scores,
            Scores::WideVotes(vec!["s01".into(), "s02".into(), "s03".into()])
        );
        assert_eq!(g.content, Content::Column("src".into()));
        let s = Study::parse(&render("v", &g, &inputs(true)).unwrap(), "x").unwrap();
        assert_eq!(s.scale, (1.0, 5.0));
        assert!(s.votes.is_some());
        let t = table(
            "clip,src,subject,session,score\nc1,a,p1,1,3\nc1,a,p2,1,4\nc2,b,p1,1,70\nc2,b,p2,1,55\n",
        );
        let g = guess(&t, "l", true).unwrap();
        assert_eq!(
            g.scores,
            Scores::LongVotes {
                subject: "subject".into(),
                score: "score".into(),
                session: Some("session".into())
            }
        );
        assert_eq!((g.clips, g.scale), (2, (0.0, 100.0)));
        assert!(Study::parse(&render("v", &g, &inputs(true)).unwrap(), "x").is_ok());
    }

    #[test]
    fn what_cannot_be_guessed_is_said() {
        let e = guess(&table("clip,mos\na,3\na,4\n"), "l.csv", true).unwrap_err();
        assert!(
            e.to_string()
                .contains("clip id `a` (column `clip`) appears twice (record 2)"),
            "{e}"
        );
        let e = guess(&table("clip,remark\na,good\nb,bad\n"), "l.csv", true).unwrap_err();
        assert!(e.to_string().starts_with("l.csv: no MOS column"), "{e}");
        let e = guess(&table("clip,mos\na,3\nb,4\n"), "l.csv", false).unwrap_err();
        assert!(e.to_string().contains("--logs DIR"), "{e}");
        let e = guess(&table("clip,mos\n"), "l.csv", true).unwrap_err();
        assert!(e.to_string().contains("no records"), "{e}");
        let g = guess(&table("clip,mos\na,3\nb,4\n"), "l.csv", true).unwrap();
        let e = render("Not A Name", &g, &inputs(true)).unwrap_err();
        assert!(e.to_string().contains("key `name`"), "{e}");
    }

    #[test]
    fn a_table_without_logs_lists_its_feature_columns() {
        let t = table("clip,mos,adm2,motion2\na,3,0.9,4\nb,4,0.8,3\n");
        let g = guess(&t, "l", false).unwrap();
        assert_eq!(g.features, Some(vec!["adm2".into(), "motion2".into()]));
        let s = Study::parse(&render("f", &g, &inputs(false)).unwrap(), "x").unwrap();
        assert_eq!(
            s.schema_columns,
            Some(vec!["adm2".into(), "motion2".into()])
        );
    }
}
