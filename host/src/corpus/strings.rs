//! A compact list of strings for per-row text (ids, content-group names).
//!
//! A `Vec<String>` costs 24 bytes of header plus a heap allocation (with its
//! allocator overhead) per string; on a 154,000-row corpus, ids and group
//! names held that way were most of what a dataset kept beside its feature
//! matrix. [`Strings`] stores them back to back in one buffer with one end
//! offset each.

use std::ops::Index;

/// Strings stored back to back, indexed like a `Vec<String>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Strings {
    text: String,
    ends: Vec<usize>,
}

impl Strings {
    /// An empty list.
    pub fn new() -> Self {
        Strings::default()
    }

    /// Appends `s`.
    pub fn push(&mut self, s: &str) {
        self.text.push_str(s);
        self.ends.push(self.text.len());
    }

    /// Number of strings.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The string at `i`, if any.
    pub fn get(&self, i: usize) -> Option<&str> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        self.text.get(start..end)
    }

    /// The first string, if any.
    pub fn first(&self) -> Option<&str> {
        self.get(0)
    }

    /// The strings in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        (0..self.len()).filter_map(|i| self.get(i))
    }
}

impl Index<usize> for Strings {
    type Output = str;

    /// The string at `i`; panics when `i` is out of range, like a `Vec`.
    fn index(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.text[start..self.ends[i]]
    }
}

impl<S: AsRef<str>> FromIterator<S> for Strings {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> Self {
        let mut out = Strings::new();
        for s in iter {
            out.push(s.as_ref());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaves_like_a_vec_of_strings() {
        let words = ["clip-1", "", "ünïcode", "x"];
        let s: Strings = words.iter().collect();
        assert_eq!(s.len(), 4);
        assert!(!s.is_empty());
        for (i, w) in words.iter().enumerate() {
            assert_eq!(&s[i], *w);
            assert_eq!(s.get(i), Some(*w));
        }
        assert_eq!(s.get(4), None);
        assert_eq!(s.first(), Some("clip-1"));
        assert_eq!(s.iter().collect::<Vec<_>>(), words);
        assert!(Strings::new().first().is_none());
    }
}
