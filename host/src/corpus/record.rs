//! The accounting of every projected line: a row into the builder, or a
//! counted drop (the sequential half of the ingest pipeline).

use std::borrow::Cow;

use moshead_protocol::{FfiOutcome, FfiRow};

use super::{duplicates, origin_index, Builder, CorpusError, Ctx, InputReport, Outcome, EXAMPLES};

impl Ctx<'_> {
    pub(super) fn project(&self, slot: &str, text: &str) -> Result<Outcome, String> {
        match self.projector.project(slot.into(), text.into()) {
            FfiOutcome::Row(r) => Ok(Outcome::Row(r)),
            FfiOutcome::Rejected(r)
                if r.code.as_str() == moshead_protocol::codes::FOREIGN_CORPUS =>
            {
                // The tag, read again only for this rare outcome, lets the
                // report say which slot or adapter would accept the row.
                let tag = serde_json::from_str::<serde_json::Value>(text)
                    .ok()
                    .and_then(|row| row.get("corpus")?.as_str().map(|t| t.trim().to_owned()))
                    .unwrap_or_default();
                Ok(Outcome::Foreign(tag, r.message.into_string()))
            }
            FfiOutcome::Rejected(r) => {
                Ok(Outcome::Drop(r.code.into_string(), r.message.into_string()))
            }
            FfiOutcome::Failed(e) => Err(e.to_string()),
        }
    }

    /// Checks the plugin kept its side of the contract.
    pub(super) fn check(&self, slot: &str, r: &FfiRow) -> Result<(), String> {
        let accepts = self
            .adapter
            .descriptor
            .slot(slot)
            .map(|s| s.accepts.as_slice())
            .unwrap_or(&[]);
        moshead_protocol::row_contract_for(slot, accepts, self.width, r, self.unlabelled)
    }

    /// Records a chunk's outcomes in line order.
    pub(super) fn record_all(
        &self,
        b: &mut Builder,
        rep: &mut InputReport,
        file: &str,
        outcomes: Vec<(u64, Result<Outcome, String>)>,
    ) -> Result<(), CorpusError> {
        for (line, outcome) in outcomes {
            rep.lines += 1;
            self.record(b, rep, file, line, outcome)?;
        }
        Ok(())
    }

    pub(super) fn record(
        &self,
        b: &mut Builder,
        rep: &mut InputReport,
        file: &str,
        line: u64,
        outcome: Result<Outcome, String>,
    ) -> Result<(), CorpusError> {
        let plugin_err = |message: String| CorpusError::Plugin {
            file: file.to_owned(),
            line,
            adapter: self.adapter.name().to_owned(),
            message,
        };
        match outcome.map_err(plugin_err)? {
            Outcome::Row(r) => {
                self.check(&rep.slot, &r).map_err(|m| CorpusError::Plugin {
                    file: file.to_owned(),
                    line,
                    adapter: self.adapter.name().to_owned(),
                    message: m,
                })?;
                let FfiRow {
                    id,
                    features,
                    filled,
                    mos,
                    mos_se,
                    split,
                    split_origin,
                    group,
                    baseline_key,
                    synthetic,
                    ..
                } = r;
                let kept = b.ids.len();
                let k = b.id_index.intern(&mut b.ids, Cow::Borrowed(id.as_str())) as usize;
                if k < kept {
                    let new = duplicates::Candidate {
                        id: id.as_str(),
                        features: features.as_slice(),
                        mos,
                        se: mos_se.into_option(),
                        split: split.into_option(),
                        group: group.as_str(),
                    };
                    return match duplicates::compare(b, k, &new, file, line) {
                        duplicates::Verdict::Drop(message) => self.drop_row(
                            b,
                            rep,
                            file,
                            line,
                            duplicates::DUPLICATE_ROW.into(),
                            message,
                        ),
                        duplicates::Verdict::Error(e) => Err(e),
                    };
                }
                b.places.push(file, line);
                b.x.extend_from_slice(features.as_slice());
                for i in filled.iter() {
                    b.filled[*i as usize] += 1;
                }
                b.mos.push(mos);
                b.se.push(mos_se.into_option());
                b.split.push(split.into_option());
                b.origin[origin_index(split_origin)] += 1;
                // Owned strings move into the name lists without a copy.
                let g = b
                    .groups
                    .intern(&mut b.group_names, Cow::Owned(group.into_string()));
                b.group.push(g);
                let bl = baseline_key
                    .as_ref()
                    .map(|k| {
                        b.baselines
                            .intern(&mut b.baseline_names, Cow::Borrowed(k.as_str()))
                    })
                    .into_option();
                b.baseline.push(bl);
                b.locations.push((self.source, line));
                b.synthetic += u64::from(synthetic);
                rep.rows += 1;
            }
            Outcome::Foreign(tag, message) => {
                *b.foreign.entry(tag).or_default() += 1;
                return self.record(
                    b,
                    rep,
                    file,
                    line,
                    Ok(Outcome::Drop(
                        moshead_protocol::codes::FOREIGN_CORPUS.to_owned(),
                        message,
                    )),
                );
            }
            Outcome::Drop(code, message) => self.drop_row(b, rep, file, line, code, message)?,
        }
        Ok(())
    }

    pub(super) fn drop_row(
        &self,
        b: &mut Builder,
        rep: &mut InputReport,
        file: &str,
        line: u64,
        code: String,
        message: String,
    ) -> Result<(), CorpusError> {
        if self.strict {
            return Err(CorpusError::Strict {
                file: file.to_owned(),
                line,
                code,
                message,
            });
        }
        *rep.drops.entry(code.clone()).or_default() += 1;
        let d = b.drops.entry(code).or_default();
        d.count += 1;
        if d.examples.len() < EXAMPLES {
            d.examples.push(format!("{file}:{line}: {message}"));
        }
        Ok(())
    }
}
