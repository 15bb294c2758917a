//! Removing the quirks export programs add around values.
//!
//! These functions never validate: whatever is not a known wrapper is
//! returned as it is (trimmed).

/// Trims a cell and removes an Excel formula wrapper: Goodreads writes ISBNs
/// as `="0441172717"` (and an empty one as `=""`) so that Excel keeps the
/// leading zero; the result is `0441172717`.
#[must_use]
pub fn cell(raw: &str) -> &str {
    let t = raw.trim();
    match t.strip_prefix("=\"").and_then(|r| r.strip_suffix('"')) {
        Some(inner) => inner.trim(),
        None => t,
    }
}

/// [`cell`], then LibraryThing's brackets: `[0441172717]` becomes
/// `0441172717`; from a bracketed list (`[0441172717, 9780441172719]`) the
/// first entry is kept; `[]` becomes empty.
#[must_use]
pub fn isbn(raw: &str) -> &str {
    let t = cell(raw);
    match t.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        Some(inner) => inner.split(',').next().unwrap_or_default().trim(),
        None => t,
    }
}

/// The year of an ISO date or date-time (`2008-03-01`, `1965-08-01T00:00:00+00:00`
/// → `2008`, `1965`); anything else is returned unchanged.
#[must_use]
pub fn year_of_date(value: &str) -> &str {
    let b = value.as_bytes();
    if b.len() > 4 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-' {
        &value[..4]
    } else {
        value
    }
}

/// calibre's `pubdate`: [`year_of_date`], but calibre's "undefined date"
/// (`0101-01-01…`, Python `datetime(101, 1, 1)`) becomes empty.
#[must_use]
pub fn calibre_year(value: &str) -> &str {
    match year_of_date(value) {
        "0101" => "",
        y => y,
    }
}

/// Splits `value` at `sep`, trims the parts, drops empty ones.
pub fn split_list<'a>(value: &'a str, sep: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    value.split(sep).map(str::trim).filter(|p| !p.is_empty())
}

/// Joins names with `"; "`, the separator of Shelfmark's `authors` field.
#[must_use]
pub fn join<'a>(parts: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::new();
    for p in parts {
        if !out.is_empty() {
            out.push_str("; ");
        }
        out.push_str(p);
    }
    out
}

/// Finds a `(dddd)` year in LibraryThing's Publication text, e.g.
/// `Ace (1990), Edition: Reissue, Mass Market Paperback, 544 pages`.
/// Returns the byte offset of `(` and the year.
#[must_use]
pub fn publication_year(publication: &str) -> Option<(usize, &str)> {
    let b = publication.as_bytes();
    let mut i = 0;
    while let Some(off) = publication.get(i..).and_then(|s| s.find('(')) {
        let at = i + off;
        let year = b.get(at + 1..at + 5);
        if year.is_some_and(|y| y.iter().all(u8::is_ascii_digit)) && b.get(at + 5) == Some(&b')') {
            return publication.get(at + 1..at + 5).map(|y| (at, y));
        }
        i = at + 1;
    }
    None
}

/// LibraryThing's publisher: the Publication text before its `(year)`, or
/// the whole text when it has none.
#[must_use]
pub fn publication_publisher(publication: &str) -> &str {
    match publication_year(publication) {
        Some((at, _)) => publication
            .get(..at)
            .unwrap_or(publication)
            .trim_end_matches([' ', ','])
            .trim(),
        None => publication.trim(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrappers() {
        assert_eq!(cell(" =\"0441172717\" "), "0441172717");
        assert_eq!(cell("=\"\""), "");
        assert_eq!(cell("=SUM(A1)"), "=SUM(A1)");
        assert_eq!(isbn("[0441172717]"), "0441172717");
        assert_eq!(isbn("[0441172717, 9780441172719]"), "0441172717");
        assert_eq!(isbn("[]"), "");
        assert_eq!(isbn("978-0-441-17271-9"), "978-0-441-17271-9");
    }

    #[test]
    fn years() {
        assert_eq!(year_of_date("1965-08-01T00:00:00+00:00"), "1965");
        assert_eq!(year_of_date("2008-03-01"), "2008");
        assert_eq!(year_of_date("1965"), "1965");
        assert_eq!(year_of_date("März 1965"), "März 1965");
        assert_eq!(calibre_year("0101-01-01T00:00:00+00:00"), "");
    }

    #[test]
    fn librarything_publication() {
        let p = "Ace (1990), Edition: Reissue, Mass Market Paperback, 544 pages";
        assert_eq!(publication_year(p), Some((4, "1990")));
        assert_eq!(publication_publisher(p), "Ace");
        let p = "Farrar, Straus and Giroux (2002), Paperback";
        assert_eq!(publication_publisher(p), "Farrar, Straus and Giroux");
        assert_eq!(publication_publisher("Self-published"), "Self-published");
        assert_eq!(publication_year("(12"), None);
        assert_eq!(publication_year("ä(1990)"), Some((2, "1990")));
    }

    #[test]
    fn lists() {
        assert_eq!(join(split_list("A & B &  & C", "&")), "A; B; C");
    }
}
