//! MARC 21 records in and out of a library through the command line: the mapping, the kept
//! source record, re-imports that update instead of duplicating, bad records reported with
//! their number and offset (nothing imported), and exports that `yaz-marcdump` reads cleanly
//! and that re-import to the same books, copies and placements.

use std::path::Path;
use std::process::{Command, Output};

use shelfmark::transfer::marc::{Record, write_record, write_record_marc8};

use super::common::{cf, df, run_yaz_clean};
use crate::util::{self, EXE, assert_healthy};

fn shelfmark(db: &Path, args: &[&str]) -> Output {
    Command::new(EXE)
        .arg("--db")
        .arg(db)
        .args(args)
        .output()
        .expect("run shelfmark")
}

fn ok(out: &Output) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    text
}

fn record(fields: Vec<shelfmark::transfer::marc::Field>) -> Record {
    Record {
        leader: shelfmark::transfer::marc::Leader::BRIEF_BOOK,
        fields,
    }
}

/// Dune with two copies in Koha 952s, a subject and a note.
fn dune(title: &str) -> Record {
    record(vec![
        cf("001", "65011234"),
        cf("003", "DLC"),
        df("020", ' ', ' ', &[('a', "0-441-17271-7 (pbk.)")]),
        df("020", ' ', ' ', &[('z', "0441172718")]),
        df(
            "100",
            '1',
            ' ',
            &[('a', "Herbert, Frank,"), ('d', "1920-1986.")],
        ),
        df("245", '1', '4', &[('a', title), ('c', "Frank Herbert.")]),
        df(
            "264",
            ' ',
            '1',
            &[
                ('a', "Philadelphia :"),
                ('b', "Chilton Books,"),
                ('c', "c1965."),
            ],
        ),
        df("500", ' ', ' ', &[('a', "First edition.")]),
        df(
            "650",
            ' ',
            '0',
            &[('a', "Desert ecology"), ('v', "Fiction.")],
        ),
        df(
            "952",
            ' ',
            ' ',
            &[('a', "Rare Books"), ('o', "PS3558.E63 D8"), ('p', "0042")],
        ),
        df("952", ' ', ' ', &[('a', "Loans"), ('p', "0043")]),
    ])
}

/// A MARC-8 record (an acute accent before its letter), with its year in brackets and no
/// holdings.
fn geode() -> Record {
    record(vec![
        cf("001", "gd-7"),
        df("100", '1', ' ', &[('a', "Dupré, Anne.")]),
        df("245", '1', '0', &[('a', "Géode :"), ('b', "une étude /")]),
        df("260", ' ', ' ', &[('b', "Hachette,"), ('c', "[1899?]")]),
    ])
}

/// Call numbers in an 852.
fn stacks() -> Record {
    record(vec![
        cf("001", "st-1"),
        cf("003", "XYZ"),
        df("245", '0', '0', &[('a', "Structured programming.")]),
        df(
            "852",
            ' ',
            ' ',
            &[
                ('b', "Stacks"),
                ('h', "QA76.9"),
                ('i', ".C65"),
                ('p', "0099"),
            ],
        ),
    ])
}

fn sample_file(path: &Path, dune_title: &str) {
    let mut bytes = Vec::new();
    write_record(&mut bytes, &dune(dune_title)).unwrap();
    write_record_marc8(&mut bytes, &geode()).unwrap();
    write_record(&mut bytes, &stacks()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// One live book: (title, authors, isbn, publisher, year, nonfiling characters as filed).
type BookTuple = (String, String, Option<String>, String, Option<i64>, i64);

/// Every live book, by title. The nonfiling count is the one the title files by (the 245's
/// indicator, or the library's articles for a book made here).
fn books(db: &Path) -> Vec<BookTuple> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT title, authors, isbn, publisher, year,
                    coalesce(nonfiling, CASE WHEN title LIKE 'the %' THEN 4 ELSE 0 END)
             FROM books WHERE deleted_at IS NULL ORDER BY title",
        )
        .unwrap();
    stmt.query_map([], |r| {
        Ok((
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
        ))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

/// "barcode|collection|shelf mark" of every live placement, sorted.
fn placements(db: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT c.barcode, k.name, p.shelf_mark FROM placements p
             JOIN copies c ON c.id = p.copy_id JOIN collections k ON k.id = p.collection_id
             WHERE p.deleted_at IS NULL ORDER BY c.barcode, k.name",
        )
        .unwrap();
    stmt.query_map([], |r| {
        Ok(format!(
            "{}|{}|{}",
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?
        ))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

#[test]
fn a_marc_file_becomes_books_copies_and_placements_and_a_second_import_updates() {
    let s = util::scratch();
    drop(util::open(&s.path));
    let file = s.dir.path().join("records.dat");
    sample_file(&file, "The dune /");
    ok(&shelfmark(&s.path, &["import", file.to_str().unwrap()]));
    let got = books(&s.path);
    assert_eq!(got.len(), 3, "{got:#?}");
    assert_eq!(
        got[0],
        (
            "Géode : une étude".to_owned(),
            "Dupré, Anne".to_owned(),
            None,
            "Hachette".to_owned(),
            Some(1899),
            0
        )
    );
    assert_eq!(
        got[2],
        (
            "The dune".to_owned(),
            "Herbert, Frank".to_owned(),
            Some("9780441172719".to_owned()),
            "Chilton Books".to_owned(),
            Some(1965),
            4
        )
    );
    assert_eq!(
        placements(&s.path),
        [
            "0042|Rare Books|PS3558.E63 D8",
            "0043|Loans|",
            "0099|Stacks|QA76.9 .C65"
        ]
    );
    let conn = rusqlite::Connection::open(&s.path).unwrap();
    let (control, marc): (String, String) = conn
        .query_row(
            "SELECT control, marc FROM books WHERE title = 'The dune'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(control, "(DLC)65011234");
    assert!(marc.contains("Desert ecology") && marc.contains("First edition."));
    assert!(
        !marc.contains("0042"),
        "holdings are the copies, not kept twice"
    );
    let id: i64 = conn
        .query_row("SELECT id FROM books WHERE title = 'The dune'", [], |r| {
            r.get(0)
        })
        .unwrap();

    // The same file again: found by control number, nothing added.
    let again = ok(&shelfmark(&s.path, &["import", file.to_str().unwrap()]));
    assert!(again.contains("created 0 books, 0 copies"), "{again}");
    assert_eq!(books(&s.path).len(), 3);
    // The record corrected at its source: the same book takes the new title.
    sample_file(&file, "Dune /");
    let updated = ok(&shelfmark(&s.path, &["import", file.to_str().unwrap()]));
    assert!(
        updated.contains("1 book updated from their records"),
        "{updated}"
    );
    let (same_id, title): (i64, String) = conn
        .query_row(
            "SELECT id, title FROM books WHERE control = '(DLC)65011234' AND deleted_at IS NULL",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((same_id, title.as_str()), (id, "Dune"));
    assert_eq!(books(&s.path).len(), 3);
    assert_healthy(&s.path);
}

#[test]
fn an_export_is_read_cleanly_by_yaz_and_reimports_to_the_same_library() {
    let s = util::scratch();
    drop(util::open(&s.path));
    let file = s.dir.path().join("records.mrc");
    sample_file(&file, "The dune /");
    ok(&shelfmark(&s.path, &["import", file.to_str().unwrap()]));
    // A book made in Shelfmark exports as a brief record.
    let c = util::Client::new(&s.path);
    let made = c.book("Made here");
    c.copy(made, "0777");

    for (format, name) in [("marc", "out.mrc"), ("marcxml", "out.xml")] {
        let out = s.dir.path().join(name);
        let text = ok(&shelfmark(
            &s.path,
            &["export", "--format", format, out.to_str().unwrap()],
        ));
        assert!(text.contains("exported 4 records"), "{text}");
        let args: &[&str] = if format == "marc" {
            &["-o", "marcxml"]
        } else {
            &["-i", "marcxml", "-o", "marcxml"]
        };
        let xml = String::from_utf8(run_yaz_clean(args, &out)).unwrap();
        assert_eq!(xml.matches("<record").count(), 4, "{xml}");
        // Everything Shelfmark does not edit came back; the copies are 952s again.
        assert!(xml.contains("Desert ecology"), "{xml}");
        assert!(xml.contains(">0042<") && xml.contains(">0099<"), "{xml}");
        assert!(
            xml.contains("(DLC)65011234"),
            "the source's number goes to 035: {xml}"
        );

        let fresh = s.dir.path().join(format!("fresh-{format}.sqlite3"));
        drop(util::open(&fresh));
        ok(&shelfmark(&fresh, &["import", out.to_str().unwrap()]));
        assert_eq!(books(&fresh), books(&s.path), "{format}");
        assert_eq!(placements(&fresh), placements(&s.path), "{format}");
        let copies = |db: &Path| util::Client::new(db).live("copies");
        assert_eq!(copies(&fresh), copies(&s.path));
        // And into the library it came from: all of it is already there.
        let back = ok(&shelfmark(&s.path, &["import", out.to_str().unwrap()]));
        assert!(
            back.contains("created 0 books, 0 copies, 0 collections, 0 placements"),
            "{back}"
        );
        assert_healthy(&fresh);
    }
}

#[test]
fn every_bad_record_is_reported_with_its_number_and_offset_and_nothing_is_imported() {
    let s = util::scratch();
    drop(util::open(&s.path));
    let mut good = Vec::new();
    write_record(&mut good, &dune("Dune /")).unwrap();
    let mut lying = Vec::new();
    write_record(&mut lying, &stacks()).unwrap();
    lying[..5].copy_from_slice(b"00999");
    let mut bad_utf8 = Vec::new();
    write_record(&mut bad_utf8, &geode()).unwrap();
    let at = bad_utf8
        .windows(2)
        .position(|w| w == "é".as_bytes())
        .unwrap();
    bad_utf8[at] = 0xFF;
    let file = s.dir.path().join("mixed.mrc");
    let mut all = good.clone();
    all.extend(&lying);
    all.extend(&bad_utf8);
    std::fs::write(&file, &all).unwrap();

    let out = shelfmark(&s.path, &["import", file.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().filter(|l| l.contains(": record ")).collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(
        lines[0].contains(&format!("record 2 (byte {})", good.len())),
        "{err}"
    );
    assert!(
        lines[1].contains(&format!("record 3 (byte {})", good.len() + lying.len()))
            && lines[1].contains("UTF-8"),
        "{err}"
    );
    assert!(err.contains("nothing was imported"), "{err}");
    assert!(books(&s.path).is_empty());

    let skipped = ok(&shelfmark(
        &s.path,
        &["import", "--skip-invalid", file.to_str().unwrap()],
    ));
    assert!(skipped.contains("skipped 2 bad record(s)"), "{skipped}");
    assert_eq!(books(&s.path).len(), 1);
}

#[test]
fn marcxml_is_told_by_its_content_and_one_collection_can_take_every_holding() {
    let s = util::scratch();
    drop(util::open(&s.path));
    let xml = shelfmark::transfer::marc::marcxml::write_collection(
        Vec::new(),
        &[dune("Dune /"), stacks()],
    )
    .unwrap();
    // Named .csv on purpose: the content decides.
    let file = s.dir.path().join("not-really.csv");
    std::fs::write(&file, xml).unwrap();
    let text = ok(&shelfmark(
        &s.path,
        &[
            "import",
            "--collection",
            "New arrivals",
            file.to_str().unwrap(),
        ],
    ));
    assert!(text.contains("MARC 21 (MARCXML)"), "{text}");
    assert_eq!(
        placements(&s.path),
        [
            "0042|New arrivals|PS3558.E63 D8",
            "0043|New arrivals|",
            "0099|New arrivals|QA76.9 .C65"
        ]
    );
}

#[test]
fn the_window_lists_bad_records_and_imports_the_good_ones_when_asked() {
    use egui_kittest::kittest::Queryable;

    use crate::ui::{app, import_file, shows, wait_for, wait_for_text};

    let s = util::scratch();
    drop(util::open(&s.path));
    let mut good = Vec::new();
    write_record(&mut good, &dune("Dune /")).unwrap();
    let mut lying = Vec::new();
    write_record(&mut lying, &stacks()).unwrap();
    lying[..5].copy_from_slice(b"00999");
    let mut all = good.clone();
    all.extend(&lying);
    std::fs::write(s.dir.path().join("shipment.mrc"), &all).unwrap();

    let mut h = app(&s.path);
    wait_for_text(&mut h, "This library is empty");
    import_file(&mut h, s.dir.path(), "shipment.mrc");
    // The whole file is read, the bad record listed by number and byte, nothing imported.
    wait_for_text(&mut h, "Some records cannot be imported");
    assert!(shows(&h, &format!("2 (byte {})", good.len())));
    assert!(shows(&h, "Nothing has been imported."));
    assert!(books(&s.path).is_empty());
    h.get_by_label("Import the good records").click();
    wait_for(&mut h, "the import's summary", |h| shows(h, "Imported "));
    assert!(shows(&h, "1 bad record skipped."));
    let imported = books(&s.path);
    assert_eq!(imported.len(), 1, "{imported:?}");
    assert_eq!(imported[0].0, "Dune");
    assert_healthy(&s.path);
}
