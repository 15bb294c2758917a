//! Bad input never panics, never stores something other than what was checked, and is refused
//! with the field and the rule: a table of hand-picked cases through the save executor, property
//! tests of random drafts (validate and round-trip exactly, or name the field), and the CSV
//! importer fed random bytes (no panic, never half an import).

use std::sync::Arc;

use proptest::prelude::*;
use shelfmark::model::{
    BookDraft, CollectionDraft, CollectionId, CopyDraft, Draft, Field, ImportJob, Op, Outcome,
    PlacementDraft, PlacementId, Record,
};

use crate::util::{self, Client};

/// What a save of one field's value should give: the stored value, or an error on that field
/// containing the words.
enum Want<'a> {
    Stored(&'a str),
    Refused(&'a str),
}

/// Saves `value` into `field` of a fresh record and compares with `want`.
fn check(c: &Client, field: Field, value: &str, want: &Want<'_>) {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let unique = format!(
        "U{}",
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    let book = |title: &str, authors: &str, publisher: &str| {
        Op::Create(Draft::Book(BookDraft {
            title: title.into(),
            authors: authors.into(),
            publisher: publisher.into(),
            ..BookDraft::default()
        }))
    };
    let op = match field {
        Field::Title => book(value, "", ""),
        Field::Authors => book("T", value, ""),
        Field::Publisher => book("T", "", value),
        Field::Name => Op::Create(Draft::Collection(CollectionDraft {
            name: value.into(),
            description: String::new(),
        })),
        Field::Description => Op::Create(Draft::Collection(CollectionDraft {
            name: unique.clone(),
            description: value.into(),
        })),
        Field::Barcode => Op::Create(Draft::Copy(CopyDraft {
            book_id: c.book(&unique),
            barcode: value.into(),
        })),
        Field::ShelfMark | Field::Note => {
            let copy = c.copy(c.book(&unique), &unique);
            let shelf = c.collection(&unique);
            let (shelf_mark, note) = if field == Field::ShelfMark {
                (value, "")
            } else {
                ("", value)
            };
            Op::Create(Draft::Placement(PlacementDraft {
                copy_id: copy,
                collection_id: shelf,
                shelf_mark: shelf_mark.into(),
                note: note.into(),
            }))
        }
        other => panic!("no case for {other:?}"),
    };
    let outcome = c.save(op);
    let shown: String = value.chars().take(40).collect();
    match (want, outcome) {
        (Want::Stored(expected), Outcome::Saved { record, .. }) => {
            let rec = c.reads().record(record).unwrap().unwrap();
            let stored = rec
                .fields()
                .into_iter()
                .find(|(f, _)| *f == field)
                .map(|(_, v)| v)
                .unwrap();
            assert_eq!(&stored, expected, "{field:?} {shown:?}");
        }
        (Want::Refused(words), Outcome::Invalid(errors)) => {
            let e = errors.iter().find(|e| e.field == field).unwrap_or_else(|| {
                panic!("{field:?} {shown:?}: errors on other fields: {errors:?}")
            });
            assert!(
                e.message.contains(words),
                "{field:?} {shown:?}: {}",
                e.message
            );
        }
        (_, other) => panic!("{field:?} {shown:?}: unexpected {other:?}"),
    }
}

#[test]
fn every_text_field_against_bad_input() {
    let s = util::scratch();
    let c = Client::new(&s.path);
    let mib = "x".repeat(1 << 20);
    let text_fields = [
        Field::Title,
        Field::Authors,
        Field::Publisher,
        Field::Name,
        Field::Description,
        Field::ShelfMark,
        Field::Note,
    ];
    for field in text_fields {
        check(
            &c,
            field,
            &mib,
            &Want::Refused("is too long: 1048576 characters, at most"),
        );
        check(
            &c,
            field,
            "a\u{0}b",
            &Want::Refused("control character (U+0000)"),
        );
        check(
            &c,
            field,
            "bell\u{7}",
            &Want::Refused("control character (U+0007)"),
        );
        check(&c, field, "  padded  ", &Want::Stored("padded"));
        check(
            &c,
            field,
            "مكتبة الإسكندرية",
            &Want::Stored("مكتبة الإسكندرية"),
        );
        check(&c, field, "Cafe\u{301}", &Want::Stored("Caf\u{e9}"));
        check(&c, field, "📚 Bücher ✨", &Want::Stored("📚 Bücher ✨"));
        check(
            &c,
            field,
            "'; DROP TABLE books; --",
            &Want::Stored("'; DROP TABLE books; --"),
        );
        check(
            &c,
            field,
            "\u{202e}reversed",
            &Want::Stored("\u{202e}reversed"),
        );
    }
    for field in [Field::Title, Field::Name] {
        check(&c, field, "", &Want::Refused("is required"));
        check(&c, field, " \t ", &Want::Refused("is required"));
    }
    // Notes and descriptions may have line breaks; one-line fields may not.
    check(&c, Field::Note, "one\r\ntwo", &Want::Stored("one\ntwo"));
    check(
        &c,
        Field::ShelfMark,
        "one\ntwo",
        &Want::Refused("control character (U+000A)"),
    );
    // Barcodes: a documented character set, NFKC-normalised and upper-cased.
    check(&c, Field::Barcode, "ＡＢ１２", &Want::Stored("AB12"));
    check(
        &c,
        Field::Barcode,
        " ab-12/3.4 ",
        &Want::Stored("AB-12/3.4"),
    );
    check(
        &c,
        Field::Barcode,
        "\u{410}012",
        &Want::Refused("may only hold letters A-Z"),
    );
    check(
        &c,
        Field::Barcode,
        "0042\u{200b}",
        &Want::Refused("may only hold letters A-Z"),
    );
    check(&c, Field::Barcode, "", &Want::Refused("is required"));
    check(
        &c,
        Field::Barcode,
        &"9".repeat(33),
        &Want::Refused("is too long"),
    );
    drop(c);
    util::assert_healthy(&s.path);
}

fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "(?s).{0,40}",
        "[ a-zA-Z0-9'\";%_-]{0,30}",
        "\\PC{0,20}",
        Just(String::new()),
        Just("   ".to_owned()),
        "[0-9Xx-]{9,17}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn random_drafts_validate_and_round_trip_exactly_or_name_the_field(
        title in any_text(), authors in any_text(), isbn in any_text(), year in any_text(),
        name in any_text(), note in any_text(), mark in any_text(), barcode in any_text(),
    ) {
        let s = util::scratch();
        let c = Client::new(&s.path);
        let draft = BookDraft { title, authors, isbn, publisher: String::new(), year, ..BookDraft::default() };
        match (draft.validate(), c.save(Op::Create(Draft::Book(draft.clone())))) {
            (Ok(v), Outcome::Saved { record, .. }) => {
                let Some(Record::Book(b)) = c.reads().record(record).unwrap() else {
                    panic!("no book")
                };
                prop_assert_eq!((b.title, b.authors, b.isbn, b.year), (v.title, v.authors, v.isbn, v.year));
            }
            (Err(e), Outcome::Invalid(got)) => prop_assert_eq!(e, got),
            (v, o) => prop_assert!(false, "validate {:?} but saving gave {:?}", v, o),
        }
        let collection = CollectionDraft { name, description: note.clone() };
        let collection_id = match (collection.validate(), c.save(Op::Create(Draft::Collection(collection.clone())))) {
            (Ok(v), Outcome::Saved { record, .. }) => {
                let stored = c.reads().collection(CollectionId(record.id)).unwrap().unwrap();
                prop_assert_eq!((stored.name, stored.description), (v.name, v.description));
                Some(CollectionId(record.id))
            }
            (Err(e), Outcome::Invalid(got)) => { prop_assert_eq!(e, got); None }
            (v, o) => { prop_assert!(false, "validate {:?} but saving gave {:?}", v, o); None }
        };
        let book = c.book("Holder");
        let copy = CopyDraft { book_id: book, barcode };
        let copy_id = match (copy.validate(), c.save(Op::Create(Draft::Copy(copy.clone())))) {
            (Ok(v), Outcome::Saved { record, .. }) => {
                let stored = c.reads().copy(shelfmark::model::CopyId(record.id)).unwrap().unwrap();
                prop_assert_eq!(stored.barcode, v.barcode);
                Some(shelfmark::model::CopyId(record.id))
            }
            (Err(e), Outcome::Invalid(got)) => { prop_assert_eq!(e, got); None }
            (v, o) => { prop_assert!(false, "validate {:?} but saving gave {:?}", v, o); None }
        };
        if let (Some(copy_id), Some(collection_id)) = (copy_id, collection_id) {
            let placement = PlacementDraft { copy_id, collection_id, shelf_mark: mark, note };
            match (placement.validate(), c.save(Op::Create(Draft::Placement(placement.clone())))) {
                (Ok(v), Outcome::Saved { record, .. }) => {
                    let stored = c.reads().placement(PlacementId(record.id)).unwrap().unwrap();
                    prop_assert_eq!((stored.shelf_mark, stored.note), (v.shelf_mark, v.note));
                }
                (Err(e), Outcome::Invalid(got)) => prop_assert_eq!(e, got),
                (v, o) => prop_assert!(false, "validate {:?} but saving gave {:?}", v, o),
            }
        }
    }
}

fn csv_bytes() -> impl Strategy<Value = Vec<u8>> {
    let cell = prop_oneof![
        "[a-zA-Z0-9 ]{0,12}",
        "(?s).{0,10}",
        Just("978-0-441-17271-9".to_owned()),
        Just("'=1+1".to_owned()),
        Just("\"quoted, with comma\"".to_owned()),
        "[0-9]{1,5}",
    ];
    let line = proptest::collection::vec(cell, 0..10).prop_map(|cells| cells.join(","));
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..400),
        proptest::collection::vec(line, 0..12).prop_map(|lines| {
            let mut text = String::from(
                "title,authors,isbn,publisher,year,barcode,collection,shelf_mark,note\n",
            );
            text.push_str(&lines.join("\n"));
            text.into_bytes()
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn the_csv_importer_never_panics_and_never_imports_half(bytes in csv_bytes()) {
        let s = util::scratch();
        let c = Client::new(&s.path);
        let dune = c.book("Dune");
        c.copy(dune, "0001");
        let before = c.conn().query_row(
            "SELECT (SELECT count(*) FROM books) || '/' || (SELECT count(*) FROM copies) || '/' ||
                    (SELECT count(*) FROM collections) || '/' || (SELECT count(*) FROM placements)",
            [], |r| r.get::<_, String>(0)).unwrap();
        let Ok(parsed) = shelfmark::transfer::csv::parse(&bytes) else { return Ok(()) };
        let rows = parsed.rows.len();
        let outcome = c.save(Op::Import(Arc::new(ImportJob::new(parsed.rows))));
        let after = c.conn().query_row(
            "SELECT (SELECT count(*) FROM books) || '/' || (SELECT count(*) FROM copies) || '/' ||
                    (SELECT count(*) FROM collections) || '/' || (SELECT count(*) FROM placements)",
            [], |r| r.get::<_, String>(0)).unwrap();
        match outcome {
            Outcome::Imported(summary) => prop_assert_eq!(summary.rows, rows),
            Outcome::Invalid(_) => prop_assert_eq!(before, after, "a refused import changed the library"),
            other => prop_assert!(false, "unexpected {:?}", other),
        }
        drop(c);
        let (ok, text) = util::check(&s.path);
        prop_assert!(ok, "{}", text);
    }
}
