//! Progress of long work on standard error, in the form the reader needs:
//! an overwritten line on a terminal, dated lines in a log, JSON events for
//! CI, or nothing (`--quiet`).
//!
//! The library reports through a [`crate::status::Status`]; a status line
//! that starts with two spaces is a step of the current stage (`fold 2/5`,
//! then `  auto: ...`), and is shown after it. A background ticker keeps the
//! output alive while one step runs long: on a terminal the line is redrawn
//! with its elapsed time every second, in a log a line is written at least
//! every [`LOG_INTERVAL`], in JSON an event likewise.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

/// The longest a log or JSON reader waits for a line while work goes on.
pub const LOG_INTERVAL: Duration = Duration::from_secs(10);

/// How often the ticker looks at the clock.
const TICK: Duration = Duration::from_millis(250);

/// The longest a terminal line stays unchanged while work goes on.
const TERMINAL_REDRAW: Duration = Duration::from_secs(1);

/// How often a terminal line is redrawn at most (status updates come fast).
const TERMINAL_RATE: Duration = Duration::from_millis(200);

/// A step change in a log is written only this long after the last line
/// (a new stage is always written).
const LOG_STEP_RATE: Duration = Duration::from_secs(1);

/// Where progress goes (`--progress`, `--quiet`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProgressMode {
    /// A line on a terminal, dated lines otherwise.
    Auto,
    /// Dated lines, even on a terminal.
    Lines,
    /// One JSON object per line (`{"event":"progress",...}`).
    Json,
    /// Nothing.
    Off,
}

/// How progress is shown, once resolved against the terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Terminal,
    Lines,
    Json,
    Off,
}

#[derive(Debug)]
struct State {
    /// The current stage (`fold 2/5`) and its step (`auto: ...`).
    stage: String,
    step: String,
    /// The stage and step of the last line written.
    shown: (String, String),
    last: Option<Instant>,
    /// A terminal line is on screen.
    drawn: bool,
    /// Work goes on (the ticker writes only then).
    active: bool,
}

/// Where the lines go: standard error, or a test's buffer.
type Sink = Box<dyn Fn(&str) + Send + Sync>;

struct Inner {
    style: Style,
    start: Instant,
    /// The longest a log or JSON reader waits for a line ([`LOG_INTERVAL`]).
    interval: Duration,
    sink: Sink,
    state: Mutex<State>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inner")
            .field("style", &self.style)
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

/// Writes `text` to standard error at once.
fn to_stderr(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(text.as_bytes());
    let _ = err.flush();
}

/// The progress output of one `moshead` run; clones share it.
#[derive(Clone, Debug)]
pub struct Progress {
    inner: Arc<Inner>,
}

/// The part of a status line that names it: up to its first `:` (so
/// `ingest a.csv: 10 rows` and `ingest a.csv: 20 rows` are one stage).
fn key(text: &str) -> &str {
    text.split(':').next().unwrap_or(text).trim()
}

impl Progress {
    /// Progress in `mode` (`Off` when `quiet`).
    pub fn new(mode: ProgressMode, quiet: bool) -> Self {
        let terminal = std::io::stderr().is_terminal();
        Progress::build(mode, quiet, terminal, LOG_INTERVAL, Box::new(to_stderr))
    }

    fn build(
        mode: ProgressMode,
        quiet: bool,
        terminal: bool,
        interval: Duration,
        sink: Sink,
    ) -> Self {
        let style = match mode {
            _ if quiet => Style::Off,
            ProgressMode::Off => Style::Off,
            ProgressMode::Json => Style::Json,
            ProgressMode::Lines => Style::Lines,
            ProgressMode::Auto if terminal => Style::Terminal,
            ProgressMode::Auto => Style::Lines,
        };
        let p = Progress {
            inner: Arc::new(Inner {
                style,
                start: Instant::now(),
                interval,
                sink,
                state: Mutex::new(State {
                    stage: String::new(),
                    step: String::new(),
                    shown: (String::new(), String::new()),
                    last: None,
                    drawn: false,
                    active: false,
                }),
            }),
        };
        if style != Style::Off {
            let weak = Arc::downgrade(&p.inner);
            // The ticker ends with the last handle on this progress.
            let _ = std::thread::Builder::new()
                .name("moshead-progress".into())
                .spawn(move || ticker(weak));
        }
        p
    }

    /// A line on a terminal when `enabled`, and nothing otherwise (the
    /// benchmarks' progress: their logs hold figures only).
    pub fn terminal_only(enabled: bool) -> Self {
        let on = enabled && std::io::stderr().is_terminal();
        Progress::new(ProgressMode::Auto, !on)
    }

    /// A progress output that never writes.
    pub fn hidden() -> Self {
        Progress::new(ProgressMode::Off, true)
    }

    /// Shows the status built by `msg` (a stage, or a step of the current
    /// stage when it starts with two spaces).
    pub fn update(&self, msg: impl FnOnce() -> String) {
        if self.inner.style == Style::Off {
            return;
        }
        let Ok(mut st) = self.inner.state.lock() else {
            return;
        };
        let now = Instant::now();
        let text = msg();
        if let Some(step) = text.strip_prefix("  ") {
            st.step = step.trim().to_owned();
        } else {
            st.stage = text.trim().to_owned();
            st.step.clear();
        }
        st.active = true;
        let since = st.last.map(|t| now.duration_since(t));
        let write = match self.inner.style {
            Style::Terminal => since.is_none_or(|d| d >= TERMINAL_RATE),
            _ => {
                let new_stage = key(&st.stage) != key(&st.shown.0);
                let new_step = key(&st.step) != key(&st.shown.1);
                new_stage || (new_step && since.is_none_or(|d| d >= LOG_STEP_RATE))
            }
        };
        if write {
            self.inner.write(&mut st, now);
        }
    }

    /// A stage ended: the terminal line goes; logs keep the stage for the
    /// next timed line.
    pub fn clear(&self) {
        let Ok(mut st) = self.inner.state.lock() else {
            return;
        };
        if self.inner.style == Style::Terminal {
            st.active = false;
            if st.drawn {
                (self.inner.sink)("\r\x1b[2K");
                st.drawn = false;
            }
        }
    }

    /// The work ended: nothing more is shown (the result follows).
    pub fn finish(&self) {
        self.clear();
        if let Ok(mut st) = self.inner.state.lock() {
            st.active = false;
        }
    }

    /// This progress as the status handle the library reports to.
    pub fn status(&self) -> crate::status::Status {
        crate::status::Status::new(Arc::new(self.clone()))
    }
}

impl Inner {
    /// Writes the current status now.
    fn write(&self, st: &mut State, now: Instant) {
        let elapsed = now.duration_since(self.start).as_secs_f64();
        let sep = if st.step.is_empty() { "" } else { " > " };
        let text = match self.style {
            Style::Off => return,
            Style::Terminal => {
                st.drawn = true;
                format!("\r\x1b[2K[{elapsed:.0} s] {}{sep}{}", st.stage, st.step)
            }
            Style::Lines => format!("moshead: [{elapsed:7.1} s] {}{sep}{}\n", st.stage, st.step),
            Style::Json => {
                let event = serde_json::json!({
                    "event": "progress",
                    "elapsed_s": (elapsed * 10.0).round() / 10.0,
                    "stage": st.stage,
                    "step": st.step,
                });
                format!("{event}\n")
            }
        };
        (self.sink)(&text);
        st.last = Some(now);
        st.shown = (st.stage.clone(), st.step.clone());
    }
}

/// Rewrites the status while one step runs long, until the progress is
/// dropped.
fn ticker(weak: Weak<Inner>) {
    loop {
        std::thread::sleep(TICK);
        let Some(inner) = weak.upgrade() else {
            return;
        };
        let Ok(mut st) = inner.state.lock() else {
            return;
        };
        if !st.active {
            continue;
        }
        let now = Instant::now();
        let quiet_for = st.last.map_or(Duration::MAX, |t| now.duration_since(t));
        let due = match inner.style {
            Style::Terminal => TERMINAL_REDRAW,
            // A little early, so a busy machine still meets the interval.
            _ => inner.interval.mul_f64(0.8),
        };
        if quiet_for >= due {
            inner.write(&mut st, now);
        }
    }
}

impl crate::status::StatusSink for Progress {
    fn update(&self, msg: &dyn Fn() -> String) {
        Progress::update(self, msg);
    }

    fn clear(&self) {
        Progress::clear(self);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stage_is_named_by_the_text_before_its_colon() {
        assert_eq!(key("ingest a.csv: 10 rows"), key("ingest a.csv: 20 rows"));
        assert_ne!(key("fold 1/5"), key("fold 2/5"));
        assert_eq!(key("auto: 18 candidates"), "auto");
    }

    fn capture(mode: ProgressMode, interval: Duration) -> (Progress, Arc<Mutex<String>>) {
        let out = Arc::new(Mutex::new(String::new()));
        let o = out.clone();
        let sink: Sink = Box::new(move |t| o.lock().unwrap().push_str(t));
        (Progress::build(mode, false, false, interval, sink), out)
    }

    /// The seconds a `moshead: [  12.3 s] ...` line carries.
    fn seconds(line: &str) -> f64 {
        let inner = line.split('[').nth(1).unwrap().split(" s]").next().unwrap();
        inner.trim().parse().unwrap()
    }

    #[test]
    fn a_log_gets_a_line_per_stage_and_steps_within_a_stage_are_rate_limited() {
        let (p, out) = capture(ProgressMode::Auto, Duration::from_secs(3600));
        for i in 1..=3 {
            p.update(|| format!("fold {i}/3"));
            for it in 0..50 {
                p.update(|| format!("  solve: iteration {it}"));
            }
        }
        p.finish();
        let text = out.lock().unwrap().clone();
        let lines: Vec<&str> = text.lines().collect();
        for i in 1..=3 {
            let tag = format!("fold {i}/3");
            assert!(lines.iter().any(|l| l.ends_with(&tag)), "{text}");
        }
        // Without a terminal: no escape sequences, and no line per iteration.
        assert!(!text.contains('\x1b'), "{text}");
        assert!(lines.len() < 10, "{text}");
    }

    #[test]
    fn a_silent_step_still_gets_a_line_every_interval() {
        let interval = Duration::from_millis(400);
        let (p, out) = capture(ProgressMode::Lines, interval);
        p.update(|| "fold 1/1".into());
        p.update(|| "  auto: 18 candidates".into());
        // A long step that reports nothing.
        std::thread::sleep(Duration::from_millis(2500));
        p.finish();
        let text = out.lock().unwrap().clone();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines.len() >= 3, "no timed line in a silent step:\n{text}");
        assert!(lines
            .iter()
            .skip(1)
            .all(|l| l.ends_with("fold 1/1 > auto: 18 candidates")));
        // Timed lines repeat the stage and step; none comes before the
        // interval has (nearly) passed.
        let t: Vec<f64> = lines.iter().map(|l| seconds(l)).collect();
        assert!(t.windows(2).skip(1).all(|w| w[1] - w[0] >= 0.3), "{text}");
    }

    #[test]
    fn json_events_parse_and_off_writes_nothing() {
        let (p, out) = capture(ProgressMode::Json, Duration::from_secs(3600));
        p.update(|| "fold 1/2".into());
        p.update(|| "  auto: 3 candidates".into());
        p.update(|| "fold 2/2".into());
        let text = out.lock().unwrap().clone();
        let events: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(events.len(), 2, "{text}");
        assert_eq!(events[1]["stage"], "fold 2/2");
        assert_eq!(events[0]["event"], "progress");
        assert!(events[0]["elapsed_s"].as_f64().is_some());
        let (p, out) = capture(ProgressMode::Off, Duration::from_millis(1));
        p.update(|| "fold 1/1".into());
        std::thread::sleep(Duration::from_millis(50));
        assert!(out.lock().unwrap().is_empty());
    }
}
