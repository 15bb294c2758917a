//! Guessing the field separator of delimited text.
//!
//! Each candidate ([`Separator::CANDIDATES`]) is tried by parsing the first
//! [`SNIFF_RECORDS`] records with the `csv` crate, which respects double
//! quotes (so a comma inside `"Gödel, Escher, Bach"` does not count). The
//! winner is the separator whose records most consistently have the same
//! number of fields, that number being more than one; ties go to the one
//! giving more fields, then to the order of [`Separator::CANDIDATES`]. Text
//! where no candidate splits anything is taken as comma-separated. An Excel
//! `sep=;` first line, when present, decides.

use std::fmt;

/// How many records (including the header) [`sniff`] looks at.
pub const SNIFF_RECORDS: usize = 50;

/// A field separator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Separator {
    /// `,`
    Comma,
    /// `;` — what Excel writes as "CSV" where the decimal separator is a comma.
    Semicolon,
    /// Tab — LibraryThing's "tab-delimited" export, Excel's "Unicode text".
    Tab,
    /// `|`
    Pipe,
}

impl Separator {
    /// The separators [`sniff`] considers, in tie-breaking order.
    pub const CANDIDATES: [Separator; 4] = [
        Separator::Comma,
        Separator::Semicolon,
        Separator::Tab,
        Separator::Pipe,
    ];

    /// The separator as a byte, as the `csv` crate wants it.
    #[must_use]
    pub fn as_byte(self) -> u8 {
        match self {
            Separator::Comma => b',',
            Separator::Semicolon => b';',
            Separator::Tab => b'\t',
            Separator::Pipe => b'|',
        }
    }

    /// The separator for a character the user typed or chose (`\t` or the
    /// words "tab" are accepted for tab).
    #[must_use]
    pub fn from_user(input: &str) -> Option<Separator> {
        match input.trim_matches(|c: char| c == ' ' || c == '\r' || c == '\n') {
            "," | "comma" => Some(Separator::Comma),
            ";" | "semicolon" => Some(Separator::Semicolon),
            "\t" | "\\t" | "tab" | "TAB" | "Tab" => Some(Separator::Tab),
            "|" | "pipe" => Some(Separator::Pipe),
            _ => None,
        }
    }
}

impl fmt::Display for Separator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Separator::Comma => "comma",
            Separator::Semicolon => "semicolon",
            Separator::Tab => "tab",
            Separator::Pipe => "pipe",
        })
    }
}

/// Guesses the separator of `text` (see the module documentation).
#[must_use]
pub fn sniff(text: &str) -> Separator {
    if let Some(sep) = excel_sep_line(text) {
        return sep;
    }
    let mut best: Option<(Score, Separator)> = None;
    for candidate in Separator::CANDIDATES {
        let Some(score) = score(text, candidate) else {
            continue;
        };
        if best.is_none_or(|(b, _)| score > b) {
            best = Some((score, candidate));
        }
    }
    best.map_or(Separator::Comma, |(_, s)| s)
}

/// The separator named by an Excel `sep=X` first line, if there is one.
#[must_use]
pub fn excel_sep_line(text: &str) -> Option<Separator> {
    let first = text.trim_start_matches('\u{FEFF}').lines().next()?;
    let sep = first
        .strip_prefix("sep=")
        .or_else(|| first.strip_prefix("SEP="))?;
    Separator::from_user(sep.trim_end_matches('\r'))
}

/// (records agreeing with the most common field count, per mille; that count).
type Score = (usize, usize);

fn score(text: &str, separator: Separator) -> Option<Score> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(separator.as_byte())
        .from_reader(text.as_bytes());
    let mut counts: Vec<usize> = Vec::new();
    for record in reader.records().take(SNIFF_RECORDS) {
        match record {
            Ok(record) => counts.push(record.len()),
            Err(_) => break,
        }
    }
    let total = counts.len();
    if total == 0 {
        return None;
    }
    let mut tally: Vec<(usize, usize)> = Vec::new();
    for &c in &counts {
        match tally.iter_mut().find(|(n, _)| *n == c) {
            Some((_, k)) => *k += 1,
            None => tally.push((c, 1)),
        }
    }
    // Most frequent count; among equally frequent ones the larger count.
    let (mode, freq) = tally
        .into_iter()
        .max_by_key(|&(n, k)| (k, n))
        .unwrap_or((1, 0));
    if mode < 2 {
        return None;
    }
    Some((freq * 1000 / total, mode))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comma_with_quoted_commas() {
        let t = "title,authors,isbn\n\"Gödel, Escher, Bach\",Hofstadter,1\nDune,Herbert,2\n";
        assert_eq!(sniff(t), Separator::Comma);
    }

    #[test]
    fn semicolon_with_unquoted_commas_inside_values() {
        let t = "Title;Author(s);ISBN\nGödel, Escher, Bach;Hofstadter, Douglas;1\nCafé;X;2\n";
        assert_eq!(sniff(t), Separator::Semicolon);
    }

    #[test]
    fn tab_and_pipe() {
        assert_eq!(sniff("a\tb\tc\n1\t2, 3\t4\n"), Separator::Tab);
        assert_eq!(sniff("a|b\n1|2\n"), Separator::Pipe);
    }

    #[test]
    fn single_column_falls_back_to_comma() {
        assert_eq!(sniff("title\nDune\n"), Separator::Comma);
        assert_eq!(sniff(""), Separator::Comma);
    }

    #[test]
    fn user_override_parsing() {
        assert_eq!(Separator::from_user(";"), Some(Separator::Semicolon));
        assert_eq!(Separator::from_user("tab"), Some(Separator::Tab));
        assert_eq!(Separator::from_user("\t"), Some(Separator::Tab));
        assert_eq!(Separator::from_user("x"), None);
    }
}
