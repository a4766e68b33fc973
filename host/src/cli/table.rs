//! Plain-text tables for people (every command's listings and the benches).

/// Prints an aligned table.
pub fn print_table(header: &[&str], rows: &[Vec<String>]) {
    print!("{}", render(header, rows));
}

/// The aligned table as text, one line per row. Any cell width is taken:
/// cells are padded by hand, because `format!`'s width is a `u16` and
/// panics on a cell of 65,536 characters or more.
fn render(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(c.chars().count());
            }
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let n = cells.len();
        let mut s = String::new();
        for (i, c) in cells.into_iter().enumerate() {
            s.push_str(c);
            if i + 1 < n {
                let w = widths.get(i).copied().unwrap_or(0);
                let pad = w.saturating_sub(c.chars().count()) + 2;
                s.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push_str(s.trim_end());
        out.push('\n');
    };
    line(header.to_vec());
    for r in rows {
        line(r.iter().map(String::as_str).collect());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_and_any_width_is_taken() {
        let rows = vec![
            vec!["é".to_owned(), "x".to_owned(), "last".to_owned()],
            vec!["abc".to_owned(), "yy".to_owned(), "".to_owned()],
        ];
        assert_eq!(
            render(&["A", "B", "C"], &rows),
            "A    B   C\né    x   last\nabc  yy\n"
        );
        // A cell past `format!`'s u16 width limit.
        let wide = "w".repeat(70_000);
        let t = render(&["A", "B"], &[vec![wide.clone(), "z".to_owned()]]);
        assert_eq!(t, format!("A{}B\n{wide}  z\n", " ".repeat(70_001)));
    }
}
