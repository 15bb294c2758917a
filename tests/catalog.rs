//! The catalog at work: import (all or nothing, with line numbers), export (formula-safe, exact
//! round trip), backup while others save, search kept in step with every change, and the
//! upgrade of a version-1 file.

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use shelfmark::model::{BookDraft, CollectionDraft, Draft, Op, PlacementDraft, RecordRef};

use crate::util::{self, Client, EXE, assert_healthy, live, place_op};

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

const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/sample-library.csv");

/// Every table's rows, as text, for "exactly as before" comparisons.
fn dump(path: &Path) -> String {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut out = String::new();
    for table in ["books", "copies", "collections", "placements"] {
        let mut stmt = conn
            .prepare(&format!("SELECT * FROM {table} ORDER BY id"))
            .unwrap();
        let n = stmt.column_count();
        let rows = stmt
            .query_map([], |r| {
                Ok((0..n)
                    .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
                    .collect::<Vec<_>>()
                    .join("|"))
            })
            .unwrap();
        for row in rows {
            let _ = writeln!(out, "{table}: {}", row.unwrap());
        }
    }
    out
}

#[test]
fn export_then_import_into_an_empty_library_gives_the_same_rows() {
    let s = util::scratch();
    let a = s.dir.path().join("a.sqlite3");
    let b = s.dir.path().join("b.sqlite3");
    ok(&shelfmark(&a, &["import", SAMPLE]));
    // Cells a spreadsheet would run as formulas, and text that only looks like protection.
    let c = Client::new(&a);
    let tricky = c.book("=HYPERLINK(\"http://x\",\"click\")");
    c.copy(tricky, "F-1");
    let shelf = c.collection("+Plus");
    assert!(c.place(shelfmark::model::CopyId(1), shelf).is_saved());
    c.save(Op::Create(Draft::Book(BookDraft {
        title: "'@quoted".into(),
        authors: "-dash".into(),
        ..BookDraft::default()
    })));
    drop(c);
    let a_csv = s.dir.path().join("a.csv");
    let b_csv = s.dir.path().join("b.csv");
    ok(&shelfmark(&a, &["export", a_csv.to_str().unwrap()]));
    let text = std::fs::read_to_string(&a_csv).unwrap();
    assert!(text.contains("'=HYPERLINK"), "formula protected:\n{text}");
    assert!(text.contains(",'+Plus,"), "formula protected:\n{text}");
    assert!(
        text.contains("''@quoted"),
        "protection is reversible:\n{text}"
    );
    ok(&shelfmark(&b, &["import", a_csv.to_str().unwrap()]));
    ok(&shelfmark(&b, &["export", b_csv.to_str().unwrap()]));
    assert_eq!(std::fs::read_to_string(&b_csv).unwrap(), text);
    let conn = rusqlite::Connection::open(&b).unwrap();
    let title: String = conn
        .query_row(
            "SELECT title FROM books WHERE title LIKE '=HYPER%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(title, "=HYPERLINK(\"http://x\",\"click\")");
    assert_healthy(&b);
}

/// Imports `csv` and returns (succeeded, stderr lines naming the file).
fn import_text(db: &Path, csv: &str, extra: &[&str]) -> (bool, Vec<String>) {
    let file = db.with_extension("csv");
    std::fs::write(&file, csv).unwrap();
    let mut args = vec!["import", file.to_str().unwrap()];
    args.extend_from_slice(extra);
    let out = shelfmark(db, &args);
    let name = file.display().to_string();
    let lines = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter_map(|l| l.strip_prefix(&format!("{name}:")).map(str::to_owned))
        .collect();
    (out.status.success(), lines)
}

#[test]
fn every_bad_line_is_reported_with_its_number_and_nothing_is_imported() {
    let s = util::scratch();
    drop(util::open(&s.path));
    let check = |csv: &str, expected: &[&str]| {
        let (ok, lines) = import_text(&s.path, csv, &[]);
        assert!(!ok, "refused: {csv}");
        assert_eq!(lines.len(), expected.len(), "{lines:#?}");
        for (line, want) in lines.iter().zip(expected) {
            assert!(
                line.starts_with(want),
                "{line:?} should start with {want:?}"
            );
        }
    };
    let long = "x".repeat(501);
    check(
        "title,isbn\nGood,\nBad ISBN,978-0-441-17271-8\n",
        &["3: ISBN: the check digit does not match"],
    );
    check(
        "title,year\nA,1965\nB,19x5\nC,3000\n",
        &["3: Year: '19x5' is not a year", "4: Year: must be a year"],
    );
    check(
        "title,barcode\nDune,0042\nNot Dune,0042\n",
        &["3: barcode 0042 is given to two different books (first on line 2)"],
    );
    check(
        &format!("title\n{long}\n"),
        &["2: Title: is too long: 501 characters"],
    );
    check(
        "title,collection\nA,Shelf\n",
        &["2: a collection is given but no barcode"],
    );
    check("title,barcode\n,0001\n", &["2: Title: is required"]);
    assert_eq!(
        live(&rusqlite::Connection::open(&s.path).unwrap(), "books"),
        0
    );

    // Not UTF-8: refused as a whole, with the reason.
    let file = s.dir.path().join("latin1.csv");
    std::fs::write(&file, b"title\nCaf\xe9\n").unwrap();
    let out = shelfmark(&s.path, &["import", file.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not UTF-8"));

    // --skip-invalid imports the good lines and names the others.
    let (ok, lines) = import_text(
        &s.path,
        "title,year\nGood,1965\nBad,19x5\n",
        &["--skip-invalid"],
    );
    assert!(ok);
    assert_eq!(lines.len(), 1);
    assert_eq!(
        live(&rusqlite::Connection::open(&s.path).unwrap(), "books"),
        1
    );
}

#[test]
fn an_existing_barcode_or_placement_is_matched_not_duplicated() {
    let s = util::scratch();
    ok(&shelfmark(&s.path, &["import", SAMPLE]));
    let before = dump(&s.path);
    let out = ok(&shelfmark(&s.path, &["import", SAMPLE]));
    assert!(out.contains("created 0 books, 0 copies, 0 collections, 0 placements; 24 placements were already there"), "{out}");
    assert_eq!(dump(&s.path), before);
    // A barcode that is on another book in the library refuses the whole import.
    let (ok_, lines) = import_text(&s.path, "title,barcode\nSomething else,0001\n", &[]);
    assert!(!ok_ && lines.is_empty());
    assert_eq!(dump(&s.path), before);
}

fn big_csv(path: &Path, rows: usize) {
    let mut text = String::from("title,authors,barcode,collection,shelf_mark\n");
    for i in 0..rows {
        let _ = writeln!(
            text,
            "Book {},Author {},BIG{i:07},Shelf {},S {i}",
            i / 3,
            i % 97,
            i % 11
        );
    }
    std::fs::write(path, text).unwrap();
}

#[test]
fn an_import_killed_midway_leaves_the_library_exactly_as_before() {
    let s = util::scratch();
    ok(&shelfmark(&s.path, &["import", SAMPLE]));
    let before = dump(&s.path);
    let file = s.dir.path().join("big.csv");
    big_csv(&file, 60_000);
    let mut rounds_mid_import = 0;
    for delay_ms in [300u64, 800, 1500] {
        let mut child = Command::new(EXE)
            .arg("--db")
            .arg(&s.path)
            .args(["import", file.to_str().unwrap()])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let finished = child.try_wait().unwrap().is_some();
        child.kill().unwrap(); // SIGKILL
        let _ = child.wait();
        if finished {
            break; // too fast to be caught midway on this machine
        }
        rounds_mid_import += 1;
        assert_healthy(&s.path);
        assert_eq!(dump(&s.path), before, "killed after {delay_ms} ms");
    }
    assert!(
        rounds_mid_import > 0,
        "at least one kill landed during the import"
    );
}

#[test]
fn a_backup_taken_while_four_threads_save_passes_check() {
    let s = util::scratch();
    let client = Client::new(&s.path);
    let book = client.book("Dune");
    let shelf = client.collection("Busy");
    let copies: Vec<_> = (0..400)
        .map(|i| client.copy(book, &format!("K{i}")))
        .collect();
    let out = s.dir.path().join("backup.sqlite3");
    std::thread::scope(|sc| {
        for t in 0..4 {
            let (client, copies) = (&client, &copies);
            sc.spawn(move || {
                let editor = client.editor();
                for c in copies.iter().skip(t).step_by(4) {
                    assert!(editor.save(place_op(*c, shelf, "")).is_saved());
                }
            });
        }
        std::thread::sleep(Duration::from_millis(30));
        let text = ok(&shelfmark(&s.path, &["backup", out.to_str().unwrap()]));
        assert!(text.contains("the copy passed its check"), "{text}");
    });
    assert_healthy(&out);
    let n = live(&rusqlite::Connection::open(&out).unwrap(), "placements");
    assert!((0..=400).contains(&n));
    // A second backup never overwrites the first.
    let again = shelfmark(&s.path, &["backup", out.to_str().unwrap()]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
}

fn found(client: &Client, query: &str) -> Vec<String> {
    client
        .reads()
        .search_books(query, 100)
        .unwrap()
        .into_iter()
        .map(|b| b.book.title)
        .collect()
}

#[test]
fn search_follows_every_change_and_folds_diacritics() {
    let s = util::scratch();
    let c = Client::new(&s.path);
    let garcia = c.book("Cien años de soledad");
    let copy = c.copy(garcia, "R-0001");
    let rare = c.collection("Rare Books");
    let p = util::placement_id(&c.save(place_op(copy, rare, "PQ8180.17")));
    for q in [
        "cien",
        "AÑOS",
        "anos",
        "soled",
        "r-0001",
        "R-00",
        "PQ8180",
        "cien soledad",
    ] {
        assert_eq!(found(&c, q), vec!["Cien años de soledad"], "{q}");
    }
    assert!(found(&c, "zzz").is_empty());
    // Edit the title: the old words go, the new come.
    assert!(
        c.save(Op::Update {
            target: garcia.into(),
            version: 1,
            draft: Draft::Book(BookDraft {
                title: "One Hundred Years of Solitude".into(),
                ..BookDraft::default()
            }),
        })
        .is_saved()
    );
    assert!(found(&c, "soledad").is_empty());
    assert_eq!(found(&c, "solitude").len(), 1);
    // Collections are found by name; renamed, by the new one.
    let names = |q: &str| -> Vec<String> {
        c.reads()
            .search_collections(q, 10)
            .unwrap()
            .into_iter()
            .map(|k| k.name)
            .collect()
    };
    assert_eq!(names("rare bo"), vec!["Rare Books"]);
    assert!(
        c.save(Op::Update {
            target: rare.into(),
            version: 1,
            draft: Draft::Collection(CollectionDraft {
                name: "Special Collections".into(),
                description: String::new(),
            }),
        })
        .is_saved()
    );
    assert!(names("rare").is_empty());
    assert_eq!(names("SPECIAL"), vec!["Special Collections"]);
    // Change the shelf mark.
    assert!(
        c.save(Op::Update {
            target: p.into(),
            version: 1,
            draft: Draft::Placement(PlacementDraft {
                copy_id: copy,
                collection_id: rare,
                shelf_mark: "QA1".into(),
                note: String::new(),
            }),
        })
        .is_saved()
    );
    assert!(found(&c, "PQ8180").is_empty());
    assert_eq!(found(&c, "qa1").len(), 1);
    // Trash and restore the book (its copy and placement go and come with it).
    let target: RecordRef = garcia.into();
    assert!(c.save(Op::Delete { target, version: 2 }).is_saved());
    assert!(found(&c, "solitude").is_empty());
    assert!(found(&c, "r-0001").is_empty());
    assert!(c.save(Op::Restore { target, version: 3 }).is_saved());
    assert_eq!(found(&c, "solitude").len(), 1);
    assert_eq!(found(&c, "qa1").len(), 1);
    // Remove the placement: its shelf mark no longer finds the book; purge it and the book.
    let pv = c.reads().placement(p).unwrap().unwrap().meta.version;
    assert!(
        c.save(Op::Delete {
            target: p.into(),
            version: pv
        })
        .is_saved()
    );
    assert!(found(&c, "qa1").is_empty());
    assert!(c.save(Op::Delete { target, version: 4 }).is_saved());
    assert!(c.save(Op::Purge { target, version: 5 }).is_saved());
    assert!(found(&c, "solitude").is_empty());
    drop(c);
    assert_healthy(&s.path);
}

#[test]
fn a_version_1_library_is_upgraded_and_searchable() {
    let s = util::scratch();
    {
        let conn = rusqlite::Connection::open(&s.path).unwrap();
        conn.execute_batch(include_str!("../src/db/sqlite/schema/0001_initial.sql"))
            .unwrap();
        conn.execute_batch(&format!(
            "PRAGMA user_version = 1; PRAGMA application_id = {};
             INSERT INTO books (title, authors, created_at, updated_at)
               VALUES ('Old Book', 'Ann Author', '2025-01-01T00:00:00.000000Z', '2025-01-01T00:00:00.000000Z');
             INSERT INTO copies (book_id, barcode, created_at, updated_at)
               VALUES (1, 'OLD-1', '2025-01-01T00:00:00.000000Z', '2025-01-01T00:00:00.000000Z');
             INSERT INTO collections (name, name_key, created_at, updated_at)
               VALUES ('Stacks', 'stacks', '2025-01-01T00:00:00.000000Z', '2025-01-01T00:00:00.000000Z');
             INSERT INTO placements (copy_id, collection_id, created_at, updated_at, deleted_at)
               VALUES (1, 1, '2025-01-01T00:00:00.000000Z', '2025-01-01T00:00:00.000000Z',
                       '2025-01-02T00:00:00.000000Z'),
                      (1, 1, '2025-01-01T00:00:00.000000Z', '2025-01-03T00:00:00.000000Z', NULL);",
            shelfmark::db::APPLICATION_ID
        ))
        .unwrap();
    }
    let c = Client::new(&s.path);
    let version: i64 = c
        .conn()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, shelfmark::db::LATEST_VERSION);
    assert_eq!(found(&c, "old"), vec!["Old Book"]);
    assert_eq!(found(&c, "old-1"), vec!["Old Book"]);
    // The kept counts start from what is there (schema 6): the live placement, not the other.
    let kept: i64 = c
        .conn()
        .query_row(
            "SELECT live FROM collection_counts WHERE collection_id = 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(kept, 1);
    drop(c);
    assert_healthy(&s.path);
}

#[test]
fn search_is_off_the_ui_thread_and_newest_query_wins() {
    // The catalog view asks the reader threads; a result for an older query is dropped.
    use crate::ui::{app, wait_for, wait_for_text};
    use egui_kittest::kittest::Queryable;
    let s = util::scratch();
    ok(&shelfmark(&s.path, &["import", SAMPLE]));
    let mut h = app(&s.path);
    h.get_by_label("Catalog").click();
    wait_for_text(&mut h, "Pride and Prejudice");
    h.get_by_label("Search").focus();
    h.step();
    h.get_by_label("Search").type_text("hob");
    h.step();
    h.get_by_label("Search").type_text("bit");
    wait_for(&mut h, "only The Hobbit", |h| {
        h.query_by_label("The Hobbit").is_some()
            && h.query_by_label("Pride and Prejudice").is_none()
    });
    let started = Instant::now();
    h.get_by_label("Search").type_text(" zzz");
    wait_for_text(&mut h, "No books match.");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn an_export_for_excel_starts_with_a_byte_order_mark_and_reimports_the_same() {
    let s = util::scratch();
    ok(&shelfmark(&s.path, &["import", SAMPLE]));
    let file = s.dir.path().join("excel.csv");
    ok(&shelfmark(
        &s.path,
        &["export", "--excel", file.to_str().unwrap()],
    ));
    let bytes = std::fs::read(&file).unwrap();
    assert!(
        bytes.starts_with("\u{feff}title,".as_bytes()),
        "{:?}",
        &bytes[..8]
    );
    let plain = s.dir.path().join("plain.csv");
    ok(&shelfmark(&s.path, &["export", plain.to_str().unwrap()]));
    assert!(std::fs::read(&plain).unwrap().starts_with(b"title,"));
    // The importer takes it back, to the same rows.
    let other = s.dir.path().join("other.sqlite3");
    ok(&shelfmark(&other, &["import", file.to_str().unwrap()]));
    let again = s.dir.path().join("again.csv");
    ok(&shelfmark(&other, &["export", again.to_str().unwrap()]));
    assert!(
        std::fs::read(&again).unwrap() == std::fs::read(&plain).unwrap(),
        "same rows"
    );
}

#[test]
fn a_bad_line_is_named_by_its_title_too() {
    let s = util::scratch();
    drop(util::open(&s.path));
    let (ok, lines) = import_text(
        &s.path,
        "title,isbn\nGood,\nBad ISBN,978-0-441-17271-8\n",
        &[],
    );
    assert!(!ok);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].ends_with("(“Bad ISBN”)"), "{lines:?}");
}

#[test]
fn check_finds_a_kept_count_that_does_not_match_the_placements() {
    let s = util::scratch();
    let c = Client::new(&s.path);
    let desk = c.collection("Desk");
    let copy = c.copy(c.book("Counted"), "C-1");
    assert!(matches!(
        c.save(place_op(copy, desk, "")),
        shelfmark::model::Outcome::Saved { .. }
    ));
    drop(c);
    assert_healthy(&s.path);
    let conn = rusqlite::Connection::open(&s.path).unwrap();
    conn.execute("UPDATE collection_counts SET live = live + 2", [])
        .unwrap();
    drop(conn);
    let out = Command::new(EXE)
        .args(["--db", s.path.to_str().unwrap(), "check"])
        .output()
        .unwrap();
    let said =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{said}");
    assert!(
        said.contains("kept count of live placements is wrong")
            && said.contains("counts 3 live placement(s) but has 1"),
        "{said}"
    );
}
