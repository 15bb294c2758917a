//! Spreadsheets through the command line and the window.

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Output};

use egui_kittest::kittest::Queryable as _;

use crate::ui::{app, import_file, shows, wait_for, wait_for_text};
use crate::util::{self, EXE};

fn fixture(name: &str) -> String {
    format!(
        "{}/tests/sheets/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn shelfmark(db: &Path, args: &[&str]) -> Output {
    Command::new(EXE)
        .arg("--db")
        .arg(db)
        .args(args)
        .output()
        .expect("run shelfmark")
}

fn titles(db: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT title FROM books WHERE deleted_at IS NULL ORDER BY title")
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn each_known_export_imports_as_it_is_and_says_what_it_was() {
    for (file, kind, first) in [
        ("goodreads_library_export.csv", "Goodreads export", "Dune"),
        (
            "librarything_utf16le.tsv",
            "LibraryThing export",
            "Good Omens",
        ),
        ("libib_library.csv", "Libib export", "Le Petit Prince"),
        ("calibre_catalog.csv", "calibre export", "Good Omens"),
        (
            "shelfmark.csv",
            "Shelfmark spreadsheet",
            "Gödel, Escher, Bach",
        ),
    ] {
        let s = util::scratch();
        drop(util::open(&s.path));
        let out = shelfmark(&s.path, &["import", &fixture(file)]);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{file}: {text}");
        assert!(text.contains(kind), "{file}: {text}");
        let got = titles(&s.path);
        assert!(got.iter().any(|t| t.starts_with(first)), "{file}: {got:?}");
    }
}

#[test]
fn a_file_not_in_utf8_is_refused_until_its_encoding_is_chosen() {
    let s = util::scratch();
    drop(util::open(&s.path));
    let file = fixture("excel_europe_windows1252.csv");
    let out = shelfmark(&s.path, &["import", &file]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not UTF-8") && err.contains("Windows-1252"),
        "{err}"
    );
    assert!(titles(&s.path).is_empty());
    let map = "title=Title,authors=Author(s),isbn=ISBN,publisher=Publisher,year=Year,\
               barcode=Barcode,collection=Location,shelf_mark=Call number,note=Notes";
    let out = shelfmark(
        &s.path,
        &["import", "--encoding", "windows-1252", "--map", map, &file],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        titles(&s.path),
        ["Das Café am Rande der Welt", "Gödel, Escher, Bach"]
    );
}

#[test]
fn the_window_asks_which_column_is_which_with_a_preview_then_imports() {
    let s = util::scratch();
    drop(util::open(&s.path));
    std::fs::write(
        s.dir.path().join("inventory.csv"),
        "Name;Writer;Code\nDune;Frank Herbert;B-0042\nEmma;Jane Austen;B-0043\n",
    )
    .unwrap();
    let mut h = app(&s.path);
    wait_for_text(&mut h, "This library is empty");
    import_file(&mut h, s.dir.path(), "inventory.csv");
    wait_for_text(&mut h, "Which column is which?");
    assert!(shows(&h, "does not know this layout"));
    // No title yet: nothing can be imported, and the step says why.
    assert!(shows(&h, "Choose the column that holds the title."));
    for (field, column) in [
        ("Title column", "Name"),
        ("Authors column", "Writer"),
        ("Barcode column", "Code"),
    ] {
        h.get_by_label(field).click();
        wait_for(&mut h, column, |h| h.query_by_label(column).is_some());
        h.get_by_label(column).click();
        h.step();
        h.step();
    }
    // The preview reads the rows as they will be imported.
    wait_for(&mut h, "the preview", |h| {
        shows(h, "Frank Herbert") && shows(h, "B-0043")
    });
    assert!(!shows(&h, "Choose the column that holds the title."));
    h.get_by_label("Import with these columns").click();
    wait_for_text(&mut h, "Imported 2 rows");
    assert_eq!(titles(&s.path), ["Dune", "Emma"]);
    let conn = rusqlite::Connection::open(&s.path).unwrap();
    assert_eq!(util::live(&conn, "copies"), 2);
}

/// The indexes of a library file, by name, as their definitions read.
fn index_definitions(db: &Path) -> Vec<(String, String)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// A first import bigger than the library builds the indexes it only writes to at its end
/// instead of row by row: afterwards every index is there as the migrations defined it, each
/// holds every row (`check` runs SQLite's integrity check), and the books without an ISBN that
/// share a title were told apart by their authors.
#[test]
fn a_big_first_import_leaves_every_index_as_the_library_defines_it() {
    let s = util::scratch();
    drop(util::open(&s.path));
    let before = index_definitions(&s.path);
    let file = s.dir.path().join("big.csv");
    let mut csv = String::from("title,authors,isbn,barcode,collection,shelf_mark\n");
    for i in 0..60_000 {
        // Every seventh row is one of five books called "Poems", without an ISBN.
        let (title, authors, isbn) = if i % 7 == 0 {
            ("Poems".to_owned(), format!("Poet {}", i % 5), String::new())
        } else {
            let body = format!("9781{i:08}");
            let digits: Vec<u8> = body.bytes().map(|b| b - b'0').collect();
            let check = shelfmark::model::isbn::check_digit_13(&digits);
            (
                format!("Book {i}"),
                "Someone".to_owned(),
                format!("{body}{check}"),
            )
        };
        let collection = ["Main Stacks", "Rare Books"][i % 2];
        let _ = writeln!(
            csv,
            "{title},{authors},{isbn},B{i:06},{collection},QA76.{} .C{}",
            i % 100,
            i % 9
        );
    }
    std::fs::write(&file, csv).unwrap();
    let out = shelfmark(&s.path, &["import", file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(index_definitions(&s.path), before);
    let out = shelfmark(&s.path, &["check"]);
    assert!(
        out.status.success(),
        "check failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let conn = rusqlite::Connection::open(&s.path).unwrap();
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(count("SELECT count(*) FROM books WHERE title = 'Poems'"), 5);
    assert_eq!(
        count("SELECT count(*) FROM placements WHERE deleted_at IS NULL"),
        60_000
    );
    assert_eq!(
        count("SELECT sum(live) FROM collection_counts"),
        60_000,
        "the counts followed"
    );
}
