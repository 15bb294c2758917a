//! The backends agree: the same import, saves, deletes and restores on a library file and on a
//! shared library give the same views — search, every order of the editor, the catalog, the
//! Trash, counts — and byte-identical exports. (The engine tests in `engine.rs` run on both
//! backends too; this checks what the views show.)

use std::fmt::Write as _;
use std::path::Path;

use shelfmark::db::Reads;
use shelfmark::model::{
    CollectionId, Kind, Op, RecordRef, SortKey, Window, WindowQuery, WindowStart,
};
use shelfmark::transfer::{self, Imported};

use crate::util::{Client, Where};

const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/sample-library.csv");

/// Imports the sample library, then edits, deletes and restores a little, the same way on any
/// backend.
fn workload(client: &Client) -> Vec<String> {
    let prepared =
        transfer::prepare_import(Path::new(SAMPLE), &transfer::ImportChoice::default()).unwrap();
    let summary = match transfer::run_import(&client.tasks, &prepared.job, |_, _| {}).unwrap() {
        Imported::Done(s) => s,
        Imported::Refused(why) => panic!("{why}"),
    };
    assert_eq!(summary.books_created, 20);
    // Both backends name the import's end (the window shows it instead of a bar and Cancel).
    assert!(prepared.job.is_finishing(), "the import's end was named");
    // The Trash: a copy with its placement, and a collection with its placements.
    let mut reads = client.reads();
    let copy = reads.live_copy_by_barcode("0002").unwrap().unwrap();
    assert!(
        client
            .save(Op::Delete {
                target: copy.id.into(),
                version: copy.meta.version
            })
            .is_saved()
    );
    let rare = reads
        .live_collection_by_name("rare books")
        .unwrap()
        .unwrap();
    assert!(
        client
            .save(Op::Delete {
                target: rare.id.into(),
                version: 1
            })
            .is_saved()
    );
    assert!(
        client
            .save(Op::Restore {
                target: RecordRef {
                    kind: Kind::Collection,
                    id: rare.id.0
                },
                version: 2
            })
            .is_saved()
    );
    assert_eq!(
        client.save(Op::SetArticles(vec![
            "the".into(),
            "a".into(),
            "der".into()
        ])),
        shelfmark::model::Outcome::Settings
    );
    // A second import over what is there: matched by ISBN, by title and authors, by barcode
    // and by (copy, collection) — case-folded collection names, a trashed copy's barcode, a
    // barcode twice in the file, rows without barcode or collection; then one that must be
    // refused whole (a barcode already on another book's copy). What each says is compared.
    let dir = tempfile::tempdir().unwrap();
    let again = dir.path().join("again.csv");
    std::fs::write(
        &again,
        "title,authors,isbn,publisher,year,barcode,collection,shelf_mark,note\n\
         Dune,Frank Herbert,978-0-441-17271-9,Ace,1990,0001,reading room,PS3558 .E63 D8,\n\
         Dune (again),Someone Else,9780441172719,Ace,1990,0001,Computing,X 1,moved?\n\
         Dune,Frank Herbert,978-0-441-17271-9,Ace,1990,0002,New Arrivals,PS3558 .E63 D8 c.3,back\n\
         Zine without ISBN,Anon,,Self,2001,Z-1,Zines,Z 1,\n\
         Zine without ISBN,Anon,,Self,2001,Z-1,ZINES,Z 1 dup,\n\
         Zine without ISBN,Anon,,Self,2001,Z-2,,,\n\
         A book alone,Nobody,,,,,,,\n",
    )
    .unwrap();
    let mut said = Vec::new();
    for file in [again.clone(), {
        let bad = dir.path().join("bad.csv");
        std::fs::write(
            &bad,
            "title,authors,isbn,barcode,collection\n\
             Fresh Book,New Author,,NEW-1,Computing\n\
             Another Book,Other,,0003,Computing\n",
        )
        .unwrap();
        bad
    }] {
        let prepared = transfer::prepare_import(&file, &transfer::ImportChoice::default()).unwrap();
        assert!(prepared.errors.is_empty(), "{:?}", prepared.errors);
        said.push(
            match transfer::run_import(&client.tasks, &prepared.job, |_, _| {}).unwrap() {
                Imported::Done(s) => format!("{s:?}"),
                Imported::Refused(why) => format!("refused: {why}"),
            },
        );
    }
    assert!(said[1].contains("0003"), "{said:?}");
    said
}

/// Everything the windows read, as text, to compare.
fn views(reads: &mut dyn Reads) -> Vec<String> {
    let mut out = Vec::new();
    let collections = reads.collections().unwrap();
    out.push(format!("{collections:?}"));
    for q in [
        "",
        "dune",
        "dune ",
        "Herb",
        "marquez",
        "Márquez",
        "GÖDEL",
        "0-441-17271",
        "978-0-14",
        "0004",
        "r-00",
        "QA76",
        "qa76.6",
        "ps35",
        "computer programs",
        "the hobbit",
        "zzz",
        "*",
        "'; DROP",
    ] {
        let titles: Vec<String> = reads
            .search_books(q, 50)
            .unwrap()
            .into_iter()
            .map(|b| format!("{}:{:?}", b.book.title, b.barcodes))
            .collect();
        out.push(format!("search {q:?}: {titles:?}"));
        let titles: Vec<String> = reads
            .books_containing(q, 50)
            .unwrap()
            .into_iter()
            .map(|b| b.book.title)
            .collect();
        out.push(format!("containing {q:?}: {titles:?}"));
    }
    for c in &collections {
        for sort in [
            SortKey::Added,
            SortKey::Title,
            SortKey::Barcode,
            SortKey::ShelfMark,
        ] {
            for ascending in [true, false] {
                for filter in ["", "pr", "c.2"] {
                    let query = |start, before, after| WindowQuery {
                        collection: CollectionId(c.id.0),
                        filter: filter.into(),
                        sort,
                        ascending,
                        start,
                        before,
                        after,
                    };
                    let top = reads
                        .placement_window(&query(WindowStart::Top { skip: 1 }, 0, 5))
                        .unwrap();
                    // From the third row shown, with the two before it.
                    let from = match top.rows.get(1) {
                        Some((row, _)) => reads
                            .placement_window(&query(
                                WindowStart::From {
                                    row: row.clone(),
                                    skip: 0,
                                },
                                2,
                                3,
                            ))
                            .unwrap(),
                        None => Window::default(),
                    };
                    let rows: Vec<String> = top
                        .rows
                        .iter()
                        .chain(&from.rows)
                        .map(|(_, r)| format!("{} {} {}", r.barcode, r.title, r.shelf_mark))
                        .chain([format!(
                            "{} {} {} / {} {} {}",
                            top.before,
                            top.at_start,
                            top.at_end,
                            from.before,
                            from.at_start,
                            from.at_end
                        )])
                        .collect();
                    let n = reads.placement_count(c.id, filter).unwrap();
                    out.push(format!(
                        "{} {sort:?} {ascending} {filter:?} {n}: {rows:?}",
                        c.name
                    ));
                }
            }
        }
    }
    let trash: Vec<String> = reads
        .trash(50)
        .unwrap()
        .into_iter()
        .map(|t| format!("{:?} {} v{}", t.record.kind, t.description, t.version))
        .collect();
    out.push(format!("trash: {trash:?}"));
    out.push(format!("counts: {:?}", reads.counts().unwrap()));
    out.push(format!("articles: {:?}", reads.articles().unwrap()));
    out.push(format!("empty: {}", reads.is_empty().unwrap()));
    if let Some(dune) = reads.live_book_by_isbn("9780441172719").unwrap() {
        let copies: Vec<String> = reads
            .copies_of(dune.id)
            .unwrap()
            .into_iter()
            .map(|c| format!("{} {:?}", c.copy.barcode, c.collections))
            .collect();
        out.push(format!("copies of Dune: {copies:?}"));
    }
    out
}

#[test]
fn a_file_and_a_shared_library_show_the_same_and_export_the_same_bytes() {
    let (file, server) = (Where::file(), Where::server());
    let (a, b) = (file.client(), server.client());
    let (a_said, b_said) = (workload(&a), workload(&b));
    assert_eq!(a_said, b_said, "the imports said different things");
    let (left, right) = (views(&mut *a.reads()), views(&mut *b.reads()));
    for (l, r) in left.iter().zip(&right) {
        assert_eq!(l, r, "the backends disagree");
    }
    assert_eq!(left.len(), right.len());
    // Spot checks that the views say what a librarian expects.
    let joined = left.join("\n");
    assert!(
        joined.contains("search \"marquez\": [\"One Hundred Years of Solitude"),
        "{joined}"
    );
    assert!(
        joined.contains("search \"the hobbit\": [\"The Hobbit"),
        "{joined}"
    );
    let dir = tempfile::tempdir().unwrap();
    let export = |client: &Client, name: &str| {
        let out = dir.path().join(name);
        transfer::export(&mut *client.reads(), None, &out, false).unwrap();
        std::fs::read(out).unwrap()
    };
    assert_eq!(export(&a, "file.csv"), export(&b, "server.csv"));
    file.assert_healthy();
    server.assert_healthy();
}

/// An export gives a copy's placements in the order they were made, not by collection (the
/// query reads them by collection, the engine puts them back), and a collection's placements in
/// the order they were added: the same on both backends.
#[test]
fn an_export_keeps_the_order_placements_were_made_in() {
    for at in [Where::file(), Where::server()] {
        let c = at.client();
        let book = c.book("Dune");
        let (one, two) = (c.copy(book, "B-1"), c.copy(book, "B-2"));
        let (rare, stacks) = (c.collection("Rare Books"), c.collection("Stacks"));
        for (copy, collection) in [(two, rare), (one, stacks), (one, rare)] {
            assert!(c.place(copy, collection).is_saved());
        }
        let dir = tempfile::tempdir().unwrap();
        let placed = |collection: Option<CollectionId>| {
            let out = dir.path().join("export.csv");
            transfer::export(&mut *c.reads(), collection, &out, false).unwrap();
            std::fs::read_to_string(out)
                .unwrap()
                .lines()
                .skip(1)
                .map(|line| {
                    let cells: Vec<&str> = line.split(',').collect();
                    format!("{} {}", cells[5], cells[6])
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(
            placed(None),
            ["B-1 Stacks", "B-1 Rare Books", "B-2 Rare Books"],
            "{}",
            at.arg()
        );
        assert_eq!(
            placed(Some(rare)),
            ["B-2 Rare Books", "B-1 Rare Books"],
            "{}",
            at.arg()
        );
    }
}

/// Imports `csv` and says what came of it, in the words a user sees.
fn import_text(client: &Client, dir: &Path, name: &str, csv: &str) -> String {
    let file = dir.join(name);
    std::fs::write(&file, csv).unwrap();
    let prepared = transfer::prepare_import(&file, &transfer::ImportChoice::default()).unwrap();
    if !prepared.errors.is_empty() {
        return format!("bad lines: {:?}", prepared.errors);
    }
    match transfer::run_import(&client.tasks, &prepared.job, |_, _| {}).unwrap() {
        Imported::Done(s) => format!("{s:?}"),
        Imported::Refused(why) => format!("refused: {why}"),
    }
}

/// A CSV of rows drawn from small pools, so that books, barcodes, collections and placements
/// meet each other (in the file, and in what an earlier import made).
fn random_csv(rows: &[(usize, usize, usize, usize, usize, usize)]) -> String {
    const TITLES: [&str; 4] = ["Dune", "The Hobbit", "Emma", "Ulysses"];
    const AUTHORS: [&str; 2] = ["Frank Herbert", "Anon"];
    const ISBNS: [&str; 4] = ["", "9780441172719", "978-0-306-40615-7", "9781861972712"];
    const BARCODES: [&str; 6] = ["", "B1", "B2", "B3", "B4", "B5"];
    const COLLECTIONS: [&str; 4] = ["", "Stacks", "STACKS", "Rare Books"];
    const SHELVES: [&str; 3] = ["", "QA76.9 .C65", "PR6039 .O32"];
    let mut out = String::from("title,authors,isbn,barcode,collection,shelf_mark\n");
    for &(t, a, i, b, c, s) in rows {
        let _ = writeln!(
            out,
            "{},{},{},{},{},{}",
            TITLES[t % 4],
            AUTHORS[a % 2],
            ISBNS[i % 4],
            BARCODES[b % 6],
            COLLECTIONS[c % 4],
            SHELVES[s % 3]
        );
    }
    out
}

proptest::proptest! {
    #![proptest_config(proptest::test_runner::Config {
        cases: 12,
        ..proptest::test_runner::Config::default()
    })]

    /// The server's set-based import and the file's row-by-row import are one set of rules:
    /// for random files (imported twice over, so the second meets what the first made) both
    /// say the same, and then show and export the same.
    #[test]
    fn random_imports_say_and_make_the_same_on_both_backends(
        first in proptest::collection::vec((0..4usize, 0..2usize, 0..4usize, 0..6usize, 0..4usize, 0..3usize), 1..14),
        second in proptest::collection::vec((0..4usize, 0..2usize, 0..4usize, 0..6usize, 0..4usize, 0..3usize), 1..14),
    ) {
        let (file, server) = (Where::file(), Where::server());
        let (a, b) = (file.client(), server.client());
        let dir = tempfile::tempdir().unwrap();
        for (n, rows) in [&first, &second].into_iter().enumerate() {
            let csv = random_csv(rows);
            let name = format!("import-{n}.csv");
            let (said_a, said_b) = (
                import_text(&a, dir.path(), &name, &csv),
                import_text(&b, dir.path(), &name, &csv),
            );
            proptest::prop_assert_eq!(&said_a, &said_b, "{}", csv);
            let (left, right) = (views(&mut *a.reads()), views(&mut *b.reads()));
            proptest::prop_assert_eq!(left, right, "{}", csv);
        }
    }
}

/// A MARC file imported twice (the second time the books are found by their control numbers
/// and updated) says and makes the same on both backends, and exports the same records but for
/// 005, the time of each book's last change.
#[test]
fn a_marc_import_says_makes_and_exports_the_same_on_both_backends() {
    use shelfmark::transfer::marc::{Field, Generator, Iso2709Reader, write_record};
    use shelfmark::transfer::records::MarcFormat;

    let dir = tempfile::tempdir().unwrap();
    let mut generator = Generator::new(7);
    let mut bytes = Vec::new();
    for _ in 0..300 {
        write_record(&mut bytes, &generator.next_record().0).unwrap();
    }
    let file = dir.path().join("shipment.mrc");
    std::fs::write(&file, &bytes).unwrap();
    let import = |client: &Client| -> String {
        let prepared = transfer::prepare_import(&file, &transfer::ImportChoice::default()).unwrap();
        match transfer::run_import(&client.tasks, &prepared.job, |_, _| {}).unwrap() {
            Imported::Done(s) => format!("{s:?}"),
            Imported::Refused(why) => format!("refused: {why}"),
        }
    };
    let (file_lib, server) = (Where::file(), Where::server());
    let (a, b) = (file_lib.client(), server.client());
    for round in ["first", "second"] {
        let (a_said, b_said) = (import(&a), import(&b));
        assert!(a_said.contains("books_created"), "{a_said}");
        assert_eq!(a_said, b_said, "the {round} import said different things");
    }
    let (left, right) = (views(&mut *a.reads()), views(&mut *b.reads()));
    assert_eq!(left, right, "the backends disagree");
    let export = |client: &Client, name: &str| -> Vec<String> {
        let out = dir.path().join(name);
        let n = transfer::export_marc(
            &mut *client.reads(),
            None,
            &out,
            MarcFormat::Iso2709,
            transfer::marc::HoldingTag::Koha952,
        )
        .unwrap();
        let bytes = std::fs::read(out).unwrap();
        let records: Vec<String> = Iso2709Reader::new(&bytes[..])
            .map(|r| {
                let mut r = r.unwrap();
                r.fields
                    .retain(|f| !matches!(f, Field::Control { tag, .. } if tag.as_str() == "005"));
                format!("{r:?}")
            })
            .collect();
        assert_eq!(records.len(), n);
        records
    };
    let (from_file, from_server) = (export(&a, "file.mrc"), export(&b, "server.mrc"));
    assert!(from_file.len() > 250, "{}", from_file.len());
    assert_eq!(from_file, from_server);
    file_lib.assert_healthy();
    server.assert_healthy();
}
