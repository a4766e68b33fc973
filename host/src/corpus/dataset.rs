//! The projected corpus a head trains on.

use moshead_protocol::Split;
use ndarray::Array2;

use super::Strings;

/// The projected corpus: the matrix a head trains on and everything needed
/// to split and score it.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// The schema name.
    pub schema: String,
    /// The feature columns in order.
    pub columns: Vec<String>,
    /// Features, one row per clip.
    pub x: Array2<f64>,
    /// MOS on 1-5.
    pub mos: Vec<f64>,
    /// MOS standard errors on 1-5, where known.
    pub se: Vec<Option<f64>>,
    /// Splits.
    pub split: Vec<Option<Split>>,
    /// Content group index per row.
    pub group: Vec<u32>,
    /// Content group names.
    pub group_names: Strings,
    /// Baseline key index per row.
    pub baseline: Vec<Option<u32>>,
    /// Baseline key names.
    pub baseline_names: Strings,
    /// Row ids.
    pub ids: Strings,
    /// Where each row was read: an index into `sources` and the 1-based
    /// line (or parquet row).
    pub locations: Vec<(u32, u64)>,
    /// The inputs read, as reports name them (the path, or `<demo>/...`).
    pub sources: Vec<String>,
    /// The MOS scale of each source's slot (the slot's own, else the
    /// adapter's), parallel to `sources`; empty for generated corpora.
    pub source_scales: Vec<moshead_protocol::MosScale>,
    /// Whether every row is synthetic.
    pub synthetic: bool,
}

impl Dataset {
    /// A generated (synthetic) dataset of schema `schema`, feature
    /// `columns`, matrix `x`, MOS (1-5) and content group per row (`group[i]`
    /// indexes groups `0..=max`, named `c{g:06}`); rows are named
    /// `r{i:06}` and located at line `i + 1` of `<generated>`; no splits,
    /// standard errors or baselines. For benches and tests.
    pub fn generated(
        schema: &str,
        columns: Vec<String>,
        x: Array2<f64>,
        mos: Vec<f64>,
        group: Vec<u32>,
    ) -> Dataset {
        let n = mos.len();
        let groups = group.iter().max().map_or(0, |&g| g as usize + 1);
        Dataset {
            schema: schema.into(),
            columns,
            x,
            mos,
            se: vec![None; n],
            split: vec![None; n],
            group,
            group_names: (0..groups).map(|g| format!("c{g:06}")).collect(),
            baseline: vec![None; n],
            baseline_names: Strings::new(),
            ids: (0..n).map(|i| format!("r{i:06}")).collect(),
            locations: (0..n as u64).map(|i| (0, i + 1)).collect(),
            sources: vec!["<generated>".into()],
            source_scales: Vec::new(),
            synthetic: true,
        }
    }

    /// [`Dataset::generated`] with schema `s` and columns `f0, f1, ...`.
    #[cfg(test)]
    pub(crate) fn for_tests(x: Array2<f64>, mos: Vec<f64>, group: Vec<u32>) -> Dataset {
        let columns = (0..x.ncols()).map(|c| format!("f{c}")).collect();
        Dataset::generated("s", columns, x, mos, group)
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.mos.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.mos.is_empty()
    }

    /// The native MOS scale of row `i`: that of the slot it was read
    /// through, else `fallback` (the adapter's, for generated corpora).
    pub fn scale_of<'a>(
        &'a self,
        i: usize,
        fallback: &'a moshead_protocol::MosScale,
    ) -> &'a moshead_protocol::MosScale {
        self.locations
            .get(i)
            .and_then(|&(src, _)| self.source_scales.get(src as usize))
            .unwrap_or(fallback)
    }

    /// The MOS and MOS standard errors of the rows `idx`, in order (what
    /// [`crate::evaluation::evaluate`] scores predictions of those rows against).
    pub fn targets(&self, idx: &[usize]) -> (Vec<f64>, Vec<Option<f64>>) {
        idx.iter().map(|&i| (self.mos[i], self.se[i])).unzip()
    }

    /// `file:line` of row `i`.
    pub fn location(&self, i: usize) -> String {
        match self.locations.get(i) {
            Some(&(src, line)) => format!(
                "{}:{line}",
                self.sources.get(src as usize).map_or("?", String::as_str)
            ),
            None => format!("row {i}"),
        }
    }

    /// Whether row `i` carries a MOS (rows projected for prediction may not).
    pub fn has_mos(&self, i: usize) -> bool {
        !self.mos[i].is_nan()
    }

    /// Indices of the rows in `split`.
    pub fn rows_in(&self, split: Split) -> Vec<usize> {
        (0..self.len())
            .filter(|&i| self.split[i] == Some(split))
            .collect()
    }
}
