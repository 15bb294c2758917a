//! ISBN hyphenation by the ISBN International Agency's registration group and
//! registrant ranges (table generated into `isbn_ranges.rs`).

use super::isbn_ranges::RANGES;

/// Hyphenates an ISBN-13: `"9780441172719"` → `"978-0-441-17271-9"`.
///
/// The input may already contain hyphens or spaces (they are ignored); it
/// must then be 13 ASCII digits starting with 978 or 979, with a valid check
/// digit. Returns `None` (never the bare digits) when the input is not such
/// an ISBN-13 or when its registration group or registrant range is not
/// assigned in the range table ([`super::ISBN_RANGE_MESSAGE_DATE`]); callers
/// that must show something can fall back to the input.
#[must_use]
pub fn isbn_hyphenated(isbn13: &str) -> Option<String> {
    let (digits, group, registrant) = split(isbn13)?;
    let (prefix, rest) = digits.split_at_checked(3)?;
    let (group, rest) = rest.split_at_checked(group)?;
    let (registrant, rest) = rest.split_at_checked(registrant)?;
    let (publication, check) = rest.split_at_checked(rest.len().checked_sub(1)?)?;
    Some(format!(
        "{prefix}-{group}-{registrant}-{publication}-{check}"
    ))
}

/// The hyphenated ISBN-10 of a 978 ISBN-13: `"9780441172719"` →
/// `"0-441-17271-7"` (same group and registrant, ISBN-10 check digit,
/// `X` for 10). `None` for 979 ISBNs, which have no ISBN-10, and wherever
/// [`isbn_hyphenated`] gives `None`.
#[must_use]
pub fn isbn10_of(isbn13: &str) -> Option<String> {
    let (digits, group, registrant) = split(isbn13)?;
    let body = digits.strip_prefix("978")?.get(..9)?;
    let sum: u32 = body
        .bytes()
        .zip((2..=10).rev())
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    let check = match (11 - sum % 11) % 11 {
        10 => 'X',
        n => char::from_digit(n, 10)?,
    };
    let (group, rest) = body.split_at_checked(group)?;
    let (registrant, publication) = rest.split_at_checked(registrant)?;
    Some(format!("{group}-{registrant}-{publication}-{check}"))
}

/// The 13 digits and the group and registrant lengths of a valid, assigned
/// ISBN-13. The lengths leave at least one publication digit.
fn split(isbn13: &str) -> Option<(String, usize, usize)> {
    let mut digits = String::with_capacity(13);
    for c in isbn13.chars() {
        match c {
            '0'..='9' if digits.len() < 13 => digits.push(c),
            '-' | ' ' => {}
            _ => return None,
        }
    }
    if digits.len() != 13 || !(digits.starts_with("978") || digits.starts_with("979")) {
        return None;
    }
    let sum: u32 = digits
        .bytes()
        .zip([1, 3].into_iter().cycle())
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    if !sum.is_multiple_of(10) {
        return None;
    }
    let key: u64 = digits.get(..12)?.parse().ok()?;
    let row = RANGES.partition_point(|&(start, _, _)| start <= key);
    let &(_, group, registrant) = RANGES.get(row.checked_sub(1)?)?;
    let (group, registrant) = (usize::from(group), usize::from(registrant));
    (group > 0 && registrant > 0 && group + registrant <= 8).then_some((digits, group, registrant))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each ISBN with its expected hyphenation (or `None`), checked both ways.
    fn check(table: &[(&str, Option<&str>)]) {
        for &(isbn, expected) in table {
            let got = isbn_hyphenated(isbn);
            assert_eq!(got.as_deref(), expected, "{isbn:?}");
            if let Some(h) = got {
                assert_eq!(
                    isbn_hyphenated(&h).as_deref(),
                    Some(h.as_str()),
                    "{h:?} again"
                );
            }
        }
    }

    #[test]
    fn hyphenation_table() {
        check(&[
            ("9780441172719", Some("978-0-441-17271-9")),
            ("978-0-441-17271-9", Some("978-0-441-17271-9")),
            ("978 0441172719", Some("978-0-441-17271-9")),
            ("9783161484100", Some("978-3-16-148410-0")),
            ("9781402894626", Some("978-1-4028-9462-6")),
            ("9780306406157", Some("978-0-306-40615-7")),
            ("9780131103627", Some("978-0-13-110362-7")),
            ("9781593278281", Some("978-1-59327-828-1")),
            ("9784873113364", Some("978-4-87311-336-4")),
            ("9788845292613", Some("978-88-452-9261-3")),
            ("9789992158104", Some("978-99921-58-10-4")),
            ("9791032305690", Some("979-10-323-0569-0")),
            ("9798886450057", Some("979-8-88645-005-7")),
            ("9791190000000", Some("979-11-90000-00-0")),
            // unassigned ranges
            ("9786710000004", None),
            ("9790000000001", None),
            // not an ISBN-13
            ("9780441172710", None),
            ("0441172717", None),
            ("97804411727190", None),
            ("978044117271X", None),
            ("9770441172713", None),
            ("", None),
            ("９７８０４４１１７２７１９", None),
        ]);
    }

    #[test]
    fn isbn10_table() {
        for (isbn, expected) in [
            ("9780441172719", Some("0-441-17271-7")),
            ("9780306406157", Some("0-306-40615-2")),
            ("9781402894626", Some("1-4028-9462-7")),
            ("9780804429573", Some("0-8044-2957-X")),
            ("9791032305690", None),
            ("9780441172710", None),
        ] {
            assert_eq!(isbn10_of(isbn).as_deref(), expected, "{isbn:?}");
        }
    }

    #[test]
    fn table_is_sorted_and_sane() {
        assert!(RANGES.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(
            RANGES
                .iter()
                .all(|&(_, g, r)| usize::from(g) + usize::from(r) <= 8)
        );
        assert_eq!(RANGES.first().map(|r| r.0), Some(978_000_000_000));
    }
}
