//! Name interning for the sequential accounting path.

use std::borrow::Cow;
use std::collections::hash_map::Entry;
use std::collections::HashMap;

use super::Strings;

/// Interns names as indices into a name list that holds each name once: the
/// map keeps a 64-bit hash of a name and its index (names are not stored
/// twice), and the rare name whose hash collides with an earlier one's goes
/// to an exact map. This runs once per row on the sequential path.
#[derive(Default)]
pub(super) struct Interner {
    state: ahash::RandomState,
    by_hash: HashMap<u64, u32, ahash::RandomState>,
    collided: HashMap<String, u32, ahash::RandomState>,
}

impl Interner {
    pub(super) fn intern(&mut self, names: &mut Strings, key: Cow<'_, str>) -> u32 {
        let hash = self.state.hash_one(key.as_ref());
        self.intern_hashed(names, key, hash)
    }

    pub(super) fn intern_hashed(
        &mut self,
        names: &mut Strings,
        key: Cow<'_, str>,
        hash: u64,
    ) -> u32 {
        let next = names.len() as u32;
        match self.by_hash.entry(hash) {
            Entry::Vacant(e) => {
                e.insert(next);
            }
            Entry::Occupied(e) => {
                let i = *e.get();
                if &names[i as usize] == key.as_ref() {
                    return i;
                }
                if let Some(i) = self.collided.get(key.as_ref()) {
                    return *i;
                }
                self.collided.insert(key.as_ref().to_owned(), next);
            }
        }
        names.push(&key);
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_survives_hash_collisions() {
        let mut i = Interner::default();
        let mut names = Strings::new();
        let mut add = |key: &str, hash: u64| i.intern_hashed(&mut names, Cow::Borrowed(key), hash);
        assert_eq!(add("a", 7), 0);
        assert_eq!(add("b", 7), 1, "a colliding name gets its own index");
        assert_eq!(add("a", 7), 0);
        assert_eq!(add("b", 7), 1);
        assert_eq!(add("c", 7), 2);
        assert_eq!(add("d", 8), 3);
        assert_eq!(add("d", 8), 3);
        assert_eq!(names.iter().collect::<Vec<_>>(), ["a", "b", "c", "d"]);
        let mut j = Interner::default();
        let mut names = Strings::new();
        for k in ["x", "y", "x", "z", "y"] {
            j.intern(&mut names, Cow::Owned(k.to_owned()));
        }
        assert_eq!(names.iter().collect::<Vec<_>>(), ["x", "y", "z"]);
    }
}
