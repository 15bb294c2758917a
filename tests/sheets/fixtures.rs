//! Each fixture under `tests/fixtures/` decodes, is recognised and maps to
//! the expected rows.

use shelfmark::transfer::sheets::{
    DecodeError, Dialect, Encoding, Field, Mapping, Separator, SheetRow, decode, decode_as,
    headers, inspect, preview, read,
};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/sheets/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[allow(clippy::too_many_arguments)]
fn row(
    line: usize,
    title: &str,
    authors: &str,
    isbn: &str,
    publisher: &str,
    year: &str,
    barcode: &str,
    collection: &str,
    shelf_mark: &str,
    note: &str,
) -> SheetRow {
    SheetRow {
        line,
        title: title.into(),
        authors: authors.into(),
        isbn: isbn.into(),
        publisher: publisher.into(),
        year: year.into(),
        barcode: barcode.into(),
        collection: collection.into(),
        shelf_mark: shelf_mark.into(),
        note: note.into(),
    }
}

/// Decodes, inspects, checks encoding/separator/dialect, returns the rows.
fn load(name: &str, encoding: Encoding, sep: Separator, dialect: Dialect) -> Vec<SheetRow> {
    let decoded = decode(&fixture(name)).expect("decodes");
    assert_eq!(decoded.encoding, encoding, "{name}: encoding");
    rows_of(&decoded.text, sep, dialect)
}

fn rows_of(text: &str, sep: Separator, dialect: Dialect) -> Vec<SheetRow> {
    let found = inspect(text);
    assert_eq!(found.separator, sep, "separator");
    assert_eq!(found.dialect, dialect, "dialect");
    assert_eq!(found.mapping.dialect(), Some(dialect));
    read(text, found.separator, &found.mapping)
        .collect::<Result<Vec<_>, _>>()
        .expect("rows read")
}

#[test]
fn shelfmark_layout() {
    let rows = load(
        "shelfmark.csv",
        Encoding::Utf8,
        Separator::Comma,
        Dialect::Shelfmark,
    );
    assert_eq!(
        rows,
        vec![
            row(
                2,
                "Gödel, Escher, Bach: an Eternal Golden Braid",
                "Douglas R. Hofstadter",
                "978-0-465-02656-2",
                "Basic Books",
                "1979",
                "B000123",
                "Reference",
                "QA9.8 .H63 1979",
                "Signed copy.\nDonated 2021.",
            ),
            row(
                5,
                "Dune",
                "Frank Herbert",
                "0441172717",
                "Ace",
                "1990",
                "B000124",
                "Fiction",
                "823.914 HER",
                "",
            ),
        ]
    );
}

#[test]
fn goodreads_export() {
    let rows = load(
        "goodreads_library_export.csv",
        Encoding::Utf8,
        Separator::Comma,
        Dialect::Goodreads,
    );
    assert_eq!(
        rows,
        vec![
            row(
                2,
                "Dune (Dune, #1)",
                "Frank Herbert",
                "9780441172719",
                "Ace",
                "1990",
                "",
                "",
                "",
                "Shelf 3, front row",
            ),
            row(
                3,
                "Good Omens: The Nice and Accurate Prophecies of Agnes Nutter, Witch",
                "Terry Pratchett; Neil Gaiman",
                "9780060853983",
                "William Morrow",
                "2006",
                "",
                "",
                "",
                "",
            ),
            row(
                4,
                "The Hobbit, or There and Back Again",
                "J.R.R. Tolkien; Christopher Tolkien; Alan Lee",
                "054792822X",
                "Mariner Books",
                "1937",
                "",
                "",
                "",
                "",
            ),
        ]
    );
}

#[test]
fn librarything_utf16le_bom_tab() {
    let rows = load(
        "librarything_utf16le.tsv",
        Encoding::Utf16Le,
        Separator::Tab,
        Dialect::LibraryThing,
    );
    assert_eq!(
        rows,
        vec![
            row(
                2,
                "Dune",
                "Herbert, Frank",
                "0441172717",
                "Ace",
                "1990",
                "LT-0001",
                "Your library; Science fiction",
                "PS3558.E63 D8 1990",
                "Cover worn",
            ),
            row(
                3,
                "The Magic Mountain",
                "Mann, Thomas",
                "0679772871",
                "Vintage",
                "1996",
                "LT-0002",
                "Your library",
                "833.912",
                "Übersetzung von John E. Woods — Geschenk",
            ),
            row(
                4,
                "Good Omens",
                "Pratchett, Terry; Gaiman, Neil",
                "",
                "William Morrow",
                "2006",
                "",
                "Favorites",
                "F PRA",
                "",
            ),
        ]
    );
}

#[test]
fn librarything_windows1252_tab() {
    let bytes = fixture("librarything_windows1252.tsv");
    let Err(DecodeError::NotUtf8 { guess, guessed, .. }) = decode(&bytes) else {
        panic!("Windows-1252 must not pass as UTF-8");
    };
    assert_eq!(guess, Encoding::Windows1252);
    let chosen = decode_as(&bytes, guess).expect("1252 decodes everything");
    assert_eq!(chosen.text, guessed);
    let rows = rows_of(&chosen.text, Separator::Tab, Dialect::LibraryThing);
    assert_eq!(
        rows,
        vec![
            row(
                2,
                "Gödel, Escher, Bach",
                "Hofstadter, Douglas R.",
                "0465026567",
                "Basic Books",
                "1979",
                "000042",
                "Your library",
                "QA9.8 .H63 1979",
                "Café stain on p. 12",
            ),
            row(
                3,
                "Das Café am Rande der Welt",
                "Strelecky, John",
                "3423209690",
                "dtv",
                "2007",
                "000043",
                "Your library; Lesecafé",
                "158.1",
                "Preis 8,95 €",
            ),
        ]
    );
}

#[test]
fn libib_export() {
    let rows = load(
        "libib_library.csv",
        Encoding::Utf8,
        Separator::Comma,
        Dialect::Libib,
    );
    assert_eq!(
        rows,
        vec![
            row(
                2,
                "Good Omens",
                "Terry Pratchett; Neil Gaiman",
                "9780060853983",
                "William Morrow",
                "2006",
                "",
                "School Library",
                "",
                "Donated by the PTA",
            ),
            row(
                3,
                "Le Petit Prince",
                "Antoine de Saint-Exupéry",
                "2070612759",
                "Gallimard",
                "1999",
                "",
                "French Corner",
                "",
                "",
            ),
        ]
    );
}

#[test]
fn calibre_catalog() {
    let rows = load(
        "calibre_catalog.csv",
        Encoding::Utf8Bom,
        Separator::Comma,
        Dialect::Calibre,
    );
    assert_eq!(
        rows,
        vec![
            row(
                2,
                "Good Omens",
                "Terry Pratchett; Neil Gaiman",
                "9780060853983",
                "William Morrow",
                "2006",
                "",
                "",
                "",
                "",
            ),
            row(
                3,
                "Frankenstein; or, The Modern Prometheus",
                "Mary Shelley",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
            ),
        ]
    );
}

fn excel_europe_text() -> String {
    let bytes = fixture("excel_europe_windows1252.csv");
    let Err(DecodeError::NotUtf8 {
        valid_up_to,
        line,
        guess,
        ..
    }) = decode(&bytes)
    else {
        panic!("Windows-1252 must not pass as UTF-8");
    };
    // "Title;…;Notes\r\n" is 72 bytes, then "G" and the 1252 "ö".
    assert_eq!((valid_up_to, line, guess), (73, 2, Encoding::Windows1252));
    decode_as(&bytes, guess).expect("decodes").text
}

#[test]
fn excel_europe_semicolon_windows1252_guessed_mapping() {
    let text = excel_europe_text();
    assert!(text.contains("Gödel") && text.contains("Café"));
    let rows = rows_of(&text, Separator::Semicolon, Dialect::Unknown);
    assert_eq!(
        rows,
        vec![
            row(
                2,
                "Gödel, Escher, Bach",
                "Hofstadter, Douglas R.",
                "978-3-608-94442-6",
                "Klett-Cotta",
                "1985",
                "00012345",
                "Magazin",
                "QA 9.8 HOF",
                "Ausgabe \"20 Jahre\"",
            ),
            row(
                3,
                "Das Café am Rande der Welt",
                "Strelecky, John",
                "978-3-423-20969-4",
                "dtv",
                "2007",
                "00012346",
                "Lesecafé",
                "B STR",
                "Geschenk\r\nvon Frau Müller; 8,95 €",
            ),
        ]
    );
}

#[test]
fn excel_europe_cli_mapping_and_preview() {
    let text = excel_europe_text();
    let h = headers(&text, Separator::Semicolon);
    let m = Mapping::parse_cli("title=Title,authors=Author(s),shelf_mark=call number", &h)
        .expect("valid mapping");
    let rows: Vec<SheetRow> = read(&text, Separator::Semicolon, &m)
        .collect::<Result<_, _>>()
        .expect("rows");
    assert_eq!(rows[1].shelf_mark, "B STR");
    assert_eq!(rows[1].isbn, "");
    let err = Mapping::parse_cli("title=Titel", &h).unwrap_err();
    assert!(
        err.to_string().contains("no column named \"Titel\""),
        "{err}"
    );

    let p = preview(&text, Separator::Semicolon, 10);
    assert_eq!(p.header.len(), 9);
    assert_eq!(p.rows.len(), 2);
    assert_eq!(
        (p.rows[1].line, p.rows[1].cells[0].as_str()),
        (3, "Das Café am Rande der Welt")
    );
    assert!(!p.truncated);
}

#[test]
fn dialect_override_and_wrong_separator() {
    let text = decode(&fixture("goodreads_library_export.csv"))
        .expect("utf-8")
        .text;
    let h = headers(&text, Separator::Comma);
    let m = Mapping::of_dialect(Dialect::Shelfmark, &h);
    assert_eq!(m.column(Field::Title), Some(1));
    assert_eq!(m.column(Field::Authors), None);
    // Read with the wrong separator: nothing panics; rows simply do not map.
    let m = Mapping::for_dialect(&headers(&text, Separator::Tab));
    assert!(read(&text, Separator::Tab, &m).all(|r| r.is_ok()));
}
