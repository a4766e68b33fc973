//! [`StudyAdapter`]: the corpus adapter a study file describes, as the
//! built-in `study` plugin runs it.

use super::{ContentRule, Study, EXAMPLE};
use crate::builder::DescriptorBuilder;
use crate::export::CorpusAdapter;
use crate::row::{codes, Rejection, Row};
use crate::{rules, Descriptor, ProjectorConfig, Split, SplitOrigin, SynthOutput, SynthRequest};

/// The study-file interpreter: projects rows as the study in the projector
/// request says ([`ProjectorConfig::study`]); without one, as the built-in
/// example study ([`EXAMPLE`]) says.
#[derive(Debug)]
pub struct StudyAdapter {
    study: Study,
    unlabelled: bool,
}

/// The study a request configures: its own, or the built-in example.
fn study_of(config: &ProjectorConfig) -> Result<Study, String> {
    match &config.study {
        Some(text) => Study::parse(text, "study file").map_err(|e| e.to_string()),
        None => Study::parse(EXAMPLE, "built-in example study").map_err(|e| e.to_string()),
    }
}

impl CorpusAdapter for StudyAdapter {
    fn descriptor() -> Descriptor {
        match Study::parse(EXAMPLE, "built-in example study") {
            Ok(s) => s.descriptor(None),
            // Refused by the host as a malformed descriptor, with the reason.
            Err(e) => DescriptorBuilder::new("study", "0.0.0", "study")
                .description(&format!("the built-in example study does not parse: {e}"))
                .build(),
        }
    }

    fn configured(config: &ProjectorConfig) -> Result<Descriptor, String> {
        study_of(config).map(|s| s.descriptor(None))
    }

    fn open(_: &Descriptor, _: &str, config: &ProjectorConfig) -> Result<Self, String> {
        Ok(StudyAdapter {
            study: study_of(config)?,
            unlabelled: config.unlabelled,
        })
    }

    fn synthesize(_: &SynthRequest) -> Result<SynthOutput, String> {
        Err("a study file has no synthetic corpus: train on the study's own labels and logs".into())
    }

    fn mos_se(&self, row: &Row<'_>) -> Option<f64> {
        let c = &self.study.columns;
        let to_head = self.study.to_head_scale();
        if self.study.votes.is_some() {
            // Recovered from the votes by the host's subjective model.
            return rules::positive(row, "votes_std_err").map(|se| se * to_head);
        }
        if let (Some(sd), Some(n)) = (&c.sd, &c.votes) {
            if let (Some(sd), Some(n)) = (rules::positive(row, sd), rules::positive(row, n)) {
                return Some(sd / n.sqrt() * to_head);
            }
        }
        c.ci95
            .as_ref()
            .and_then(|k| rules::positive(row, k))
            .map(|ci| ci / 1.96 * to_head)
    }

    fn group(&self, row: &Row<'_>, _: &Descriptor, id: &str) -> Result<String, Rejection> {
        let from_id = |id: &str| -> String {
            match &self.study.contents {
                ContentRule::IdBeforeLast(sep) => id
                    .rsplit_once(sep.as_str())
                    .map_or(id, |(head, _)| head)
                    .to_owned(),
                _ => id.to_owned(),
            }
        };
        match &self.study.contents {
            ContentRule::Column(c) => match row.text_or_int(c) {
                Some(v) => Ok(v.into_owned()),
                // A clip scored from its log alone is its own content.
                None if self.unlabelled => Ok(id.to_owned()),
                None => Err(Rejection::new(
                    codes::MISSING_CONTENT,
                    format!("`{c}` (the study's content column) is missing or empty"),
                )),
            },
            _ => Ok(from_id(id)),
        }
    }

    fn split(
        &self,
        row: &Row<'_>,
        _: &Descriptor,
        group: &str,
    ) -> Result<Option<(Split, SplitOrigin)>, Rejection> {
        if let Some(col) = &self.study.columns.split {
            if let Some(s) = rules::explicit_split_at(row, col, &[])? {
                return Ok(Some((s, SplitOrigin::Explicit)));
            }
        }
        if self.study.test_contents.iter().any(|t| t == group) {
            return Ok(Some((Split::Test, SplitOrigin::Policy)));
        }
        match &self.study.hash_split {
            Some(h) => Ok(Some((
                rules::content_hash_split(&h.seed, group, h.train, h.val),
                SplitOrigin::Policy,
            ))),
            // Rows without a label get none: grouped folds.
            None => Ok(None),
        }
    }
}
