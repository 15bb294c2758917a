//! Property tests: no input makes any function panic.

use proptest::prelude::*;
use shelfmark::transfer::sheets::{
    Dialect, Encoding, Field, Mapping, Separator, decode, decode_as, headers, inspect, preview,
    read, sniff,
};

/// Text made of the characters that matter to the parsers.
fn sheetish() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[a-zA-Zé€ 0-9,;\t|\"\r\n=\\[\\]()&#_-]{0,300}")
        .expect("valid regex")
}

fn exercise(text: &str) {
    let _ = sniff(text);
    let found = inspect(text);
    for sep in Separator::CANDIDATES {
        let _ = headers(text, sep);
        let _ = preview(text, sep, 5);
        for row in read(text, sep, &found.mapping).take(100) {
            let _ = row.map(|r| r.get(Field::Note).len());
        }
    }
    for dialect in [
        Dialect::Shelfmark,
        Dialect::Goodreads,
        Dialect::LibraryThing,
        Dialect::Libib,
        Dialect::Calibre,
        Dialect::Unknown,
    ] {
        let m = Mapping::of_dialect(dialect, &found.headers);
        for row in read(text, found.separator, &m).take(100) {
            let _ = row;
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let decoded = decode(&bytes);
        for enc in Encoding::ALL {
            let _ = decode_as(&bytes, enc);
        }
        let text = match decoded {
            Ok(d) => d.text,
            Err(shelfmark::transfer::sheets::DecodeError::NotUtf8 { guessed, .. }) => guessed,
            Err(shelfmark::transfer::sheets::DecodeError::Malformed { lossy, .. }) => lossy,
        };
        exercise(&text);
    }

    #[test]
    fn random_utf16_never_panics(s in sheetish(), le in any::<bool>(), bom in any::<bool>()) {
        let mut bytes: Vec<u8> = Vec::new();
        if bom {
            bytes.extend(if le { [0xFF, 0xFE] } else { [0xFE, 0xFF] });
        }
        for unit in s.encode_utf16() {
            bytes.extend(if le { unit.to_le_bytes() } else { unit.to_be_bytes() });
        }
        let d = decode(&bytes);
        // With a BOM, or ASCII text long enough for the NUL heuristic, the
        // text must come back exactly; otherwise it only must not panic.
        if bom || (s.is_ascii() && s.len() >= 2) {
            let want = if le { Encoding::Utf16Le } else { Encoding::Utf16Be };
            prop_assert_eq!(d.map(|d| (d.encoding, d.text)), Ok((want, s)));
        }
    }

    #[test]
    fn sheetish_text_never_panics(text in sheetish()) {
        exercise(&text);
    }

    #[test]
    fn known_headers_with_random_rows_never_panic(
        rows in sheetish(),
        dialect_header in prop::sample::select(vec![
            "Book Id,Title,Author,Author l-f,Additional Authors,ISBN,ISBN13,Year Published",
            "Title\tPrimary Author\tSecondary Author\tSecondary Author Roles\tPublication\tDate\tISBN\tCollections",
            "item_type,title,creators,ean_isbn13,upc_isbn10,publish_date",
            "author_sort,authors,isbn,pubdate,title",
            "title;authors;isbn;year",
        ]),
    ) {
        let text = format!("{dialect_header}\n{rows}");
        exercise(&text);
    }

    #[test]
    fn cli_specs_and_headers_never_panic(
        spec in "[a-zA-Z_ =,\"#0-9-]{0,80}",
        hs in proptest::collection::vec("[a-zA-Z() _#,-]{0,12}", 0..8),
    ) {
        let _ = Mapping::parse_cli(&spec, &hs).map(|m| m.to_cli(&hs));
        let g = Mapping::guess(&hs);
        let _ = g.to_cli(&hs);
        let _ = Mapping::for_dialect(&hs);
    }

    #[test]
    fn hand_set_columns_never_panic(text in sheetish(), cols in proptest::collection::vec(any::<usize>(), 9)) {
        let mut m = Mapping::new();
        for (f, c) in Field::ALL.into_iter().zip(cols) {
            m.set_column(f, Some(c));
        }
        let _ = m.to_string();
        let _ = m.to_cli(&["a", "b"]);
        for row in read(&text, sniff(&text), &m).take(50) {
            let _ = row;
        }
    }

    #[test]
    fn to_cli_round_trips(hs in proptest::collection::vec("[a-zA-Z() _,-]{1,12}", 1..8)) {
        let g = Mapping::guess(&hs);
        let cli = g.to_cli(&hs);
        if !cli.is_empty() {
            let back = Mapping::parse_cli(&cli, &hs);
            prop_assert!(back.is_ok(), "{cli}: {back:?}");
            if let Ok(back) = back {
                for f in Field::ALL {
                    prop_assert_eq!(back.column(f), g.column(f), "{}", cli);
                }
            }
        }
    }
}
