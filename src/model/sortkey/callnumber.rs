//! Call-number (shelf mark) filing keys: Library of Congress (and NLM, which
//! shares its shape), Dewey, and a natural-order fallback for anything else.

use super::fold::{fold_char, is_deleted, push_number};

/// Element markers. They sort below `.` and the digits, so a class number
/// that ends before another element files before any longer class number
/// (`QA76 .C65` < `QA76.1`, `823.9 T6` < `823.912`), and among elements at
/// the same position: nothing < number < word < cutter.
const NUMBER: char = '#';
const WORD: char = '&';
const CUTTER: char = '+';
/// Between a cutter's digits and its work mark: above the markers, below the
/// digits, so the digits compare as a fraction first (`T649` < `T649 2004` <
/// `T649h` < `T6495`).
const WORK_MARK: char = '-';

/// Scheme tags: empty keys sort first, then Dewey, LC, everything else.
const DEWEY: char = 'D';
const LC: char = 'L';
const OTHER: char = 'X';

/// Returns the bytewise-comparable filing key of a call number.
///
/// Case, accents, and spacing do not matter (`qa 76.9 .c65` = `QA76.9 .C65`);
/// an empty (or all-punctuation) shelf mark gives `""`, which files first.
/// Schemes are told apart by shape and file in blocks: Dewey, then LC, then
/// anything else.
///
/// **Library of Congress** (also NLM `W…`, `QS`–`QZ`): 1–3 class letters
/// (not starting with I, O, X, Y; three letters only for `K..`, `DAW`,
/// `DJK`), an optional space, a 1–4 digit class number, and the rest:
/// 1. class letters alphabetically, a shorter one first (`Q` < `QA` < `QB`);
/// 2. the class number's integer part numerically (`QA9.8` < `QA76`);
/// 3. its decimal part as a decimal fraction, compared digit by digit
///    (`QA76.73` < `QA76.758` < `QA76.9`); LC never writes trailing zeros, so
///    `QA76.10` is read as written, `.10`: right after `QA76.1` and before
///    `QA76.11`, `QA76.2` … `QA76.9` (a fraction, not "ten");
/// 4. cutters (up to three): a letter and digits read as a decimal fraction
///    (`.C65` < `.C7`), with or without the dot, each consecutive one after the
///    class number (`.J38 B56`), or any later one written with its dot;
///    letters right after the cutter digits are a work mark, compared after
///    the digits and after anything that follows the bare cutter
///    (`.C65` < `.C65 2004` < `.C65 .D3` < `.C65a` < `.C651`);
/// 5. then every other element in order: numbers (dates, volume and copy
///    numbers, ordinals like `15th`) compared numerically with any letters
///    attached (`1937` < `1937b`), words (`v.`, `c.`, `suppl.`) compared
///    alphabetically: so `v.2` < `v.10`.
///
/// At any position, nothing files before something (`QA76.9` <
/// `QA76.9 .C65` < `QA76.9 .C65 2004`), and a number before a word before a
/// cutter: `PS3545.I345 1939` (collected works by date) < `PS3545.I345 v.2`
/// < `PS3545.I345 G7`, and `KF4558 15th .A2` < `KF4558 .A2`.
///
/// **Dewey**: exactly three digits, an optional decimal part (the MARC 082
/// segmentation marks `/` and `'` are ignored: `823/.912` = `823.912`), then
/// elements as above, where the first element starting with letters is the
/// book number (cutter): any letters, then digits as a fraction, then a work
/// mark: `823.912 T649h`. The integer part is fixed width, the decimal part a
/// fraction: `823.912` < `823.92` < `823.93`.
///
/// **Anything else** (local schemes, free text): natural order, case
/// insensitive; runs of digits are numbers compared numerically, runs of
/// letters are words, everything else separates: `Box 2` < `Box 10`.
#[must_use]
pub fn call_number_key(shelf_mark: &str) -> String {
    let s = normalize(shelf_mark);
    let mut out = String::with_capacity(s.len() + 8);
    if !(dewey(&s, &mut out) || lc(&s, &mut out)) {
        out.clear();
        out.push(OTHER);
        elements(&s, &mut out, NO_CUTTERS);
        if out.len() == 1 {
            out.clear();
        }
    }
    out
}

/// Folds `shelf_mark`: NFKD without marks, ASCII letters upper-cased, other
/// letters lower-cased, apostrophes unified to `'`, any white space or
/// non-ASCII non-alphanumeric char to one space, trimmed.
fn normalize(shelf_mark: &str) -> String {
    let mut s = String::with_capacity(shelf_mark.len());
    let mut gap = false;
    for c in shelf_mark.chars() {
        fold_char(c, &mut |d| {
            let d = if d.is_ascii() {
                d.to_ascii_uppercase()
            } else if is_deleted(d) {
                '\''
            } else if d.is_alphanumeric() {
                d
            } else {
                ' '
            };
            if d.is_ascii_whitespace() || d.is_ascii_control() {
                gap = true;
            } else {
                if gap && !s.is_empty() {
                    s.push(' ');
                }
                gap = false;
                s.push(d);
            }
        });
    }
    s
}

/// A letter byte of a normalized shelf mark (non-ASCII bytes are only ever
/// parts of letters or digits there).
fn is_letter(b: u8) -> bool {
    b.is_ascii_uppercase() || b >= 0x80
}

fn is_alnum(b: u8) -> bool {
    is_letter(b) || b.is_ascii_digit()
}

fn run(b: &[u8], from: usize, pred: impl Fn(u8) -> bool) -> usize {
    b.get(from..)
        .map_or(0, |tail| tail.iter().take_while(|&&c| pred(c)).count())
        + from
}

fn dewey(s: &str, out: &mut String) -> bool {
    let b = s.as_bytes();
    if run(b, 0, |c| c.is_ascii_digit()) != 3 {
        return false;
    }
    out.push(DEWEY);
    out.push_str(s.get(..3).unwrap_or_default());
    let is_mark = |c: u8| c == b'/' || c == b'\'';
    let mut i = run(b, 3, is_mark);
    let after_dot = run(b, i + 1, is_mark);
    if b.get(i) == Some(&b'.') && b.get(after_dot).is_some_and(u8::is_ascii_digit) {
        out.push('.');
        i = after_dot;
        while let Some(&c) = b.get(i) {
            if c.is_ascii_digit() {
                out.push(char::from(c));
            } else if !is_mark(c) {
                break;
            }
            i += 1;
        }
    }
    elements(s.get(i..).unwrap_or_default(), out, DEWEY_CUTTERS);
    true
}

fn lc(s: &str, out: &mut String) -> bool {
    let b = s.as_bytes();
    let letters = run(b, 0, |c| c.is_ascii_uppercase());
    if !is_lc_class(b.get(..letters).unwrap_or_default()) {
        return false;
    }
    let start = if b.get(letters) == Some(&b' ') {
        letters + 1
    } else {
        letters
    };
    let end = run(b, start, |c| c.is_ascii_digit());
    if !(1..=4).contains(&(end - start)) {
        return false;
    }
    out.push(LC);
    out.push_str(s.get(..letters).unwrap_or_default());
    push_number(out, s.get(start..end).unwrap_or_default());
    let mut i = end;
    if b.get(i) == Some(&b'.') && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
        let decimal_end = run(b, i + 1, |c| c.is_ascii_digit());
        out.push_str(s.get(i..decimal_end).unwrap_or_default());
        i = decimal_end;
    }
    elements(s.get(i..).unwrap_or_default(), out, LC_CUTTERS);
    true
}

/// Plausible LC (or NLM) class letters.
fn is_lc_class(letters: &[u8]) -> bool {
    match letters {
        [b'I' | b'O' | b'X' | b'Y', ..] => false,
        [_] | [_, _] | [b'K', _, _] | [b'D', b'A', b'W'] | [b'D', b'J', b'K'] => true,
        _ => false,
    }
}

#[derive(Clone, Copy)]
struct Cutters {
    /// How many cutters a call number may have.
    max: usize,
    /// How many letters a cutter may start with.
    letters: usize,
    /// Whether letters alone (no digits) make a cutter (Dewey `SMI`).
    letters_only: bool,
}

const LC_CUTTERS: Cutters = Cutters {
    max: 3,
    letters: 1,
    letters_only: false,
};
const DEWEY_CUTTERS: Cutters = Cutters {
    max: 1,
    letters: usize::MAX,
    letters_only: true,
};
const NO_CUTTERS: Cutters = Cutters {
    max: 0,
    letters: 0,
    letters_only: false,
};

/// Appends the elements after a class number (or of a whole free-text shelf
/// mark): each is a marker and a self-delimiting payload.
fn elements(s: &str, out: &mut String, cutters: Cutters) {
    let b = s.as_bytes();
    let mut i = 0;
    let mut seen = 0;
    let mut in_cutters = true;
    loop {
        let mut dotted = false;
        while let Some(&c) = b.get(i) {
            if is_alnum(c) {
                break;
            }
            dotted |= c == b'.';
            i += 1;
        }
        let Some(&first) = b.get(i) else { break };
        if first.is_ascii_digit() {
            let end = run(b, i, |c| c.is_ascii_digit());
            out.push(NUMBER);
            push_number(out, s.get(i..end).unwrap_or_default());
            i = push_suffix(s, end, out, None);
            in_cutters = false;
            continue;
        }
        let letters_end = run(b, i, is_letter);
        let digits_end = run(b, letters_end, |c| c.is_ascii_digit());
        let letters = s.get(i..letters_end).unwrap_or_default();
        let has_digits = digits_end > letters_end;
        let is_cutter = seen < cutters.max
            && (in_cutters || dotted)
            && letters.is_ascii()
            && letters.len() <= cutters.letters
            && (has_digits
                || (cutters.letters_only && matches!(b.get(letters_end), None | Some(b' '))));
        if is_cutter {
            out.push(CUTTER);
            out.push_str(s.get(i..digits_end).unwrap_or_default());
            i = if has_digits {
                push_suffix(s, digits_end, out, Some(WORK_MARK))
            } else {
                digits_end
            };
            seen += 1;
        } else {
            out.push(WORD);
            out.push_str(letters);
            i = letters_end;
            in_cutters = false;
        }
    }
}

/// Appends the letters right after a number (`15th`, `1937b`, the work mark
/// of `T649h`, then after `mark`) unless digits follow them (then they start
/// the next element).
fn push_suffix(s: &str, from: usize, out: &mut String, mark: Option<char>) -> usize {
    let b = s.as_bytes();
    let end = run(b, from, is_letter);
    if end > from && !b.get(end).is_some_and(u8::is_ascii_digit) {
        out.extend(mark);
        out.push_str(s.get(from..end).unwrap_or_default());
        end
    } else {
        from
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{check_order, check_same};
    use super::*;

    fn check(expected: &[&str]) {
        check_order(call_number_key, expected);
    }

    #[test]
    fn keys_table() {
        for (shelf_mark, key) in [
            ("", ""),
            ("  ", ""),
            ("--", ""),
            ("QA76.9 .C65", "LQA276.9+C65"),
            ("QA76.73.J38 B56 2018", "LQA276.73+J38+B56#42018"),
            ("KF4558 15th .A2", "LKF44558#215TH+A2"),
            ("PS3545.I345 G7 1939", "LPS43545+I345+G7#41939"),
            ("QA76.9 .C65 v.10 c.2", "LQA276.9+C65&V#210&C#12"),
            ("823.912 T649h", "D823.912+T649-H"),
            ("823/.912", "D823.912"),
            ("005.1'33", "D005.133"),
            ("005.133 v.2", "D005.133&V#12"),
            ("Box 10", "X&BOX#210"),
            ("DVD 1234", "X&DVD#41234"),
            ("FIC SMI", "X&FIC&SMI"),
            ("Río 1", "X&RIO#11"),
            ("Сказки 2", "X&сказки#12"),
            ("1234", "X#41234"),
            ("A1 .B2 .C3 .D4 .E5", "LA11+B2+C3+D4&E#15"),
            ("005.133 B56 C7", "D005.133+B56&C#17"),
        ] {
            assert_eq!(call_number_key(shelf_mark), key, "{shelf_mark:?}");
        }
    }

    #[test]
    fn case_and_spacing_do_not_matter() {
        check_same(
            call_number_key,
            &[
                "QA76.9 .C65",
                "qa 76.9 .c65",
                "QA76.9.C65",
                " QA76.9  C65 ",
                "QA 76.9 C65",
            ],
        );
        check_same(
            call_number_key,
            &["823.912 T649h", "823.912 t649H", "823/.912 T649h"],
        );
        check_same(call_number_key, &["Box 2", "box 02", "BOX-2", "box2"]);
    }

    /// LC decimals are fractions. A requirement asked for QA76.9 < QA76.10;
    /// in LC filing `.10` is the fraction 0.10 (LC would write it `.1`), so
    /// QA76.10 files right after QA76.1 and BEFORE QA76.11, QA76.2 and QA76.9.
    #[test]
    fn lc_decimal_is_a_fraction() {
        check(&[
            "QA76", "QA76.1", "QA76.10", "QA76.11", "QA76.2", "QA76.73", "QA76.9",
        ]);
        assert!(call_number_key("QA76.10") < call_number_key("QA76.9"));
    }

    #[test]
    fn lc_rules() {
        check(&[
            "KF4558 1st .A2",
            "KF4558 15th",
            "KF4558 15th .A2",
            "KF4558 .A2",
            "KF4558.5",
            "PS3545.I345 1939",
            "PS3545.I345 v.2",
            "PS3545.I345 G7",
            "PS3545.I345 G7 1939",
            "Q180.55 .M4",
            "QA9.8 .H63 1979",
            "QA76",
            "QA76 .C65",
            "QA76.9",
            "QA76.9 .C6",
            "QA76.9 .C65",
            "QA76.9 .C65 2004",
            "QA76.9 .C65 2004b",
            "QA76.9 .C65 v.2",
            "QA76.9 .C65 v.10",
            "QA76.9 .C65 D3",
            "QA76.9 .C65a",
            "QA76.9 .C65a 2004",
            "QA76.9 .C651",
            "QA76.9 .C7",
            "QA76.9.D3 D37 2004",
            "QA76.9.D3 D37 2004 c.2",
            "QA76.9.D3 E4",
            "QA76.92",
            "QA77",
            "QB981 .H377 1988",
        ]);
    }

    #[test]
    fn dewey_rules() {
        check(&[
            "005",
            "005 B56",
            "005.1",
            "005.13",
            "005.133",
            "005.133 B56",
            "005.133 B56 2018",
            "005.133 B56 v.2",
            "005.133 B56a",
            "005.133 B561",
            "005.133 B6",
            "005.133 SMI",
            "005.2",
            "823.912",
            "823.92",
            "823.93",
        ]);
    }

    #[test]
    fn fallback_rules() {
        check(&[
            "",
            "Box 2",
            "Box 2a",
            "Box 10",
            "Box 10 shelf 2",
            "Box 10 shelf 10",
            "Boxes 1",
            "DVD 9",
            "DVD 10",
            "FIC SMITH",
            "FIC SMITHSON",
        ]);
    }

    /// Real call numbers (LC from LC records, Dewey from DDC 23 practice),
    /// in shelf order: the empty mark, then Dewey, then LC, then local marks.
    #[test]
    fn real_call_numbers() {
        check(&[
            "",
            "005.1 K74a",
            "005.13 A141s",
            "005.133 B651e 2018",
            "005.133 K65r 2018",
            "005.133 S921c 2013",
            "005.74 D232i 2004",
            "005.74 E45f",
            "025.431 D51 2011 v.1",
            "025.431 D51 2011 v.2",
            "530.11 E35r",
            "641.5945 B38",
            "641.5945 H428e",
            "641.59451 W13",
            "813.52 F553g",
            "813.54 S163c",
            "823.8 D548g",
            "823.912 O79n",
            "823.912 T649h",
            "823.912 T649L",
            "823.914 R884h",
            "823.92 S648w",
            "940.5318 G466h",
            "940.5318092 F828d",
            "E184.5 .A45",
            "HB161 .S65 1776",
            "HM206 .D48 1997",
            "KF4558 1st .A2",
            "KF4558 15th .A2",
            "PR4034 .P7 1813",
            "PR6019.O9 U4 1922",
            "PR6029.R8 N49 1949",
            "PR6039.O32 H63 1937",
            "PR6039.O32 L6 1954",
            "PS1305 .A1 1885",
            "PS2384 .M6 1851",
            "PS3511.A86 S7 1929",
            "PS3511.I9 G7 1925",
            "PS3545.I345 G7 1939",
            "QA9.8 .H63 1979",
            "QA76.6 .A255 1996",
            "QA76.6 .C662 2009",
            "QA76.6 .K64 1997 v.1",
            "QA76.6 .K64 1997 v.3",
            "QA76.64 .D47 1995",
            "QA76.73.C15 K47 1988",
            "QA76.73.C153 S77 2013",
            "QA76.73.J38 B56 2018",
            "QA76.73.P98 L877 2013",
            "QA76.73.R87 K53 2018",
            "QA76.758 .B75 1995",
            "QA76.76.D47 M39 2004",
            "QA76.9.D3 D37 2004",
            "QC23 .F47 1963",
            "QH365 .O2 1859",
            "QH545.P4 C38 1962",
            "TK5105.55 .S74 1994",
            "WG 120 .S5",
            "Z665 .R36 2010",
            "CAGE 3",
            "FIC TOLKIEN",
            "OVERSIZE 12",
        ]);
    }
}
