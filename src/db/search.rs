//! Search as you type over the catalog: title, authors, ISBN and publisher (`books_fts`), and a
//! copy's barcode, shelf marks and collection names (`copies_fts`). Every word the user types
//! must match, in either index, as a prefix; diacritics are folded by the tokenizer.

use rusqlite::{Connection, params_from_iter};

use super::read::{self, BOOK_COLUMNS};
use super::views::BookRow;
use crate::model::isbn;

/// Turns what the user typed into one FTS5 phrase per word (prefix-matched), or `None` if
/// nothing searchable is left. Words are split where the tokenizer splits (at anything that is
/// not a letter or digit), so "R-0001" finds the barcode R-0001; an ISBN typed with hyphens is
/// searched as the digits it is stored as.
pub fn fts_terms(text: &str) -> Option<Vec<String>> {
    let mut terms = Vec::new();
    for word in text.split_whitespace() {
        let digits: String = word
            .chars()
            .filter(|c| !matches!(c, '-' | '\u{2010}'))
            .collect();
        let isbn_like = digits.len() >= 4
            && digits
                .chars()
                .all(|c| c.is_ascii_digit() || c == 'x' || c == 'X')
            && word.chars().any(|c| c.is_ascii_digit());
        if isbn_like {
            // A whole ISBN-10 is stored as its ISBN-13.
            let stored = isbn::parse(&digits).unwrap_or(digits);
            terms.push(format!("\"{}\"*", stored.to_lowercase()));
            continue;
        }
        let parts: Vec<String> = word
            .split(|c: char| !c.is_alphanumeric())
            .filter(|p| !p.is_empty())
            .map(str::to_lowercase)
            .collect();
        if parts.is_empty() {
            continue;
        }
        // Quoted, so nothing the user types is FTS5 syntax.
        terms.push(format!("\"{}\"*", parts.join(" ")));
    }
    (!terms.is_empty()).then_some(terms)
}

/// Live books matching every word of `text`, by title; at most `limit`.
pub fn books(conn: &Connection, text: &str, limit: usize) -> rusqlite::Result<Vec<BookRow>> {
    let Some(terms) = fts_terms(text) else {
        return super::views::books(conn, "", limit);
    };
    let per_term = "SELECT rowid FROM books_fts WHERE books_fts MATCH ?
         UNION SELECT c.book_id FROM copies_fts JOIN copies c ON c.id = copies_fts.rowid
               WHERE copies_fts MATCH ?";
    let matching = vec![per_term; terms.len()].join(" INTERSECT ");
    let cols = BOOK_COLUMNS
        .split(", ")
        .map(|c| format!("b.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT {cols},
                (SELECT group_concat(barcode, ' ') FROM
                    (SELECT barcode FROM copies WHERE book_id = b.id AND deleted_at IS NULL
                     ORDER BY barcode))
         FROM books b
         WHERE b.deleted_at IS NULL AND b.id IN ({matching})
         ORDER BY b.title COLLATE NOCASE, b.id
         LIMIT {limit}"
    );
    let params: Vec<&String> = terms.iter().flat_map(|t| [t, t]).collect();
    let mut stmt = conn.prepare_cached(&sql)?;
    stmt.query_map(params_from_iter(params), |r| {
        let book = read::book_row(r)?;
        let barcodes: Option<String> = r.get(10)?;
        Ok(BookRow {
            book,
            barcodes: barcodes
                .map(|b| b.split(' ').map(str::to_owned).collect())
                .unwrap_or_default(),
        })
    })?
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Option<&[&str]>) {
        let got = fts_terms(input);
        let expected = expected.map(|e| e.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>());
        assert_eq!(got, expected, "{input:?}");
    }

    #[test]
    fn words_become_quoted_prefix_phrases() {
        check("dune", Some(&["\"dune\"*"]));
        check("  Frank   HERBERT ", Some(&["\"frank\"*", "\"herbert\"*"]));
        check("R-0001", Some(&["\"r 0001\"*"]));
        check("QA76.6", Some(&["\"qa76 6\"*"]));
        check("978-0-441", Some(&["\"9780441\"*"]));
        check("0-441-17271-7", Some(&["\"9780441172719\"*"]));
        check(
            "\"; DROP TABLE books",
            Some(&["\"drop\"*", "\"table\"*", "\"books\"*"]),
        );
        check("* - \"", None);
        check("", None);
        check("Márquez", Some(&["\"márquez\"*"]));
    }
}
