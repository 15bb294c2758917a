//! Sort keys for titles and call numbers, and ISBN hyphenation.
//!
//! Every key is a `String` meant to be compared **bytewise** (the default
//! `BINARY` collation of `SQLite`, `COLLATE "C"` of `PostgreSQL`, `Ord` on
//! `str`): the byte order of the key is the intended filing order, so every
//! backend sorts alike and the column can be indexed. Keys are valid UTF-8;
//! call-number keys are ASCII unless the shelf mark holds non-Latin letters.
//!
//! All functions are pure, never panic, and accept any input.
//! This module depends on nothing of the app (only `unicode-normalization`).
//!
//! - [`title_key`], [`default_nonfiling`], [`DEFAULT_ARTICLES`]: title filing.
//! - [`call_number_key`]: Library of Congress, Dewey, anything else.
//! - [`isbn_hyphenated`], [`isbn10_of`]: hyphenation by the ISBN agency's ranges
//!   ([`ISBN_RANGE_MESSAGE_DATE`] tells which edition of them).

mod callnumber;
mod fold;
mod isbn;
mod isbn_ranges;
mod title;

pub use callnumber::call_number_key;
pub use isbn::{isbn_hyphenated, isbn10_of};
pub use isbn_ranges::{ISBN_RANGE_MESSAGE_DATE, ISBN_RANGE_MESSAGE_SERIAL};
pub use title::{DEFAULT_ARTICLES, default_nonfiling, title_key};

/// The words of `parts` as a search index keeps them: folded as sort keys fold (diacritics
/// removed, lower case, `ß` → `ss`), split at anything that is not a letter or a digit, joined
/// by single spaces. "Gabriel García Márquez" → "gabriel garcia marquez".
pub fn search_words(parts: &[&str]) -> String {
    let mut out = String::new();
    for part in parts {
        let mut gap = true;
        for c in part.chars() {
            fold::fold_char(c, &mut |f| {
                if f.is_alphanumeric() {
                    if gap && !out.is_empty() {
                        out.push(' ');
                    }
                    gap = false;
                    out.push(f);
                } else {
                    gap = true;
                }
            });
        }
    }
    out
}

#[cfg(test)]
mod testutil;

#[cfg(test)]
mod tests {
    #[test]
    fn search_words_are_folded_and_split() {
        let w = super::search_words;
        assert_eq!(w(&["Gabriel García Márquez"]), "gabriel garcia marquez");
        assert_eq!(
            w(&["Straße", "O'Brien", "R-0001"]),
            "strasse o brien r 0001"
        );
        assert_eq!(w(&["  ", "Dune", ""]), "dune");
        assert_eq!(w(&["ΟΔΥΣΣΕΙΑ"]), "οδυσσεια");
    }
}
