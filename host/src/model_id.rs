//! Model ids: the one rule every id must pass wherever it is read (the
//! command line, an adapter's descriptor, a manifest), because it names
//! the files a run writes (`<id>.json`, `<id>.onnx`, ...).

/// The longest model id: with the longest suffix (`_validation.jsonl`)
/// and a temporary-file prefix and suffix, a name stays far below the
/// 255-byte limit of common file systems.
pub const MAX_MODEL_ID: usize = 100;

/// Why a model id is refused; the id is shown escaped and cut at 40
/// characters (a newline as `\n`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ModelIdError {
    /// The id is empty.
    #[error("model id is empty")]
    Empty,
    /// The id is longer than [`MAX_MODEL_ID`] bytes.
    #[error("model id {shown} is {chars} characters long; at most {MAX_MODEL_ID} are allowed")]
    TooLong {
        /// The id as shown.
        shown: String,
        /// Its length in characters.
        chars: usize,
    },
    /// The id holds a character a file-name stem may not.
    #[error("model id {shown} contains `{}`; only ASCII letters, digits, `_`, `-` and `.` are allowed (it names files in the output directory)", .c.escape_debug())]
    Character {
        /// The id as shown.
        shown: String,
        /// The first character refused.
        c: char,
    },
    /// The id starts with `.` or `-`.
    #[error("model id {shown} must not start with `.` or `-`")]
    Start {
        /// The id as shown.
        shown: String,
    },
}

/// Checks that `id` is a plain file-name stem: 1 to [`MAX_MODEL_ID`]
/// ASCII letters, digits, `_`, `-` and `.`, not starting with `.` or `-`.
/// The error says what is wrong and shows the id escaped (a newline is
/// shown as `\n`).
pub fn check(id: &str) -> Result<(), ModelIdError> {
    let shown = || {
        let s: String = id
            .chars()
            .take(40)
            .collect::<String>()
            .escape_debug()
            .to_string();
        if id.chars().count() > 40 {
            format!("`{s}...`")
        } else {
            format!("`{s}`")
        }
    };
    if id.is_empty() {
        return Err(ModelIdError::Empty);
    }
    if id.len() > MAX_MODEL_ID {
        return Err(ModelIdError::TooLong {
            shown: shown(),
            chars: id.chars().count(),
        });
    }
    if let Some(c) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
    {
        return Err(ModelIdError::Character { shown: shown(), c });
    }
    if id.starts_with(['.', '-']) {
        return Err(ModelIdError::Start { shown: shown() });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_pass_and_paths_newlines_and_long_ids_do_not() {
        for ok in [
            "konvid_mos_head_v1",
            "a",
            "x.v2-b",
            &"a".repeat(MAX_MODEL_ID),
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
        let err = |id: &str| check(id).unwrap_err().to_string();
        assert!(err("").contains("empty"));
        assert!(err("../x").contains("contains `/`"), "{}", err("../x"));
        assert!(err("/abs/x").contains("contains `/`"));
        assert!(err("a\nb").contains("contains `\\n`"), "{}", err("a\nb"));
        assert!(err("a\\b").contains("contains"));
        assert!(err(".hidden").contains("must not start"));
        assert!(err("-rf").contains("must not start"));
        assert!(err("é").contains("contains `é`"));
        let long = "x".repeat(300);
        assert!(err(&long).contains("is 300 characters long; at most 100"));
    }
}
