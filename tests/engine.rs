//! The save engine inside one process: many threads on one executor, and every typed outcome.
//! A contract: every test runs on a library file and on a shared library (PostgreSQL), so the
//! backends cannot drift apart.

use std::collections::HashMap;
use std::sync::Barrier;

use shelfmark::model::{
    CollectionDraft, CopyDraft, Draft, Field, Holder, Kind, Op, Outcome, PlacementDraft, Record,
    RecordRef,
};

use crate::util::{Client, Where, on_both_backends, place_op, placement_id, saved_id};

const THREADS: usize = 16;
const PAIRS: usize = 200;

/// Runs `THREADS` threads that each save every op of `ops` (in their own shuffled order) and
/// returns, per op index, every outcome it got.
fn race(client: &Client, ops: &[Op]) -> Vec<Vec<Outcome>> {
    let barrier = Barrier::new(THREADS);
    let results: Vec<Vec<(usize, Outcome)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let barrier = &barrier;
                s.spawn(move || {
                    let editor = client.editor();
                    let mut order: Vec<usize> = (0..ops.len()).collect();
                    fastrand::Rng::with_seed(t as u64).shuffle(&mut order);
                    barrier.wait();
                    order
                        .into_iter()
                        .map(|i| (i, editor.save(ops[i].clone())))
                        .collect()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut by_op = vec![Vec::new(); ops.len()];
    for (i, outcome) in results.into_iter().flatten() {
        by_op[i].push(outcome);
    }
    by_op
}

/// For each op: exactly one `Saved`, and every other outcome a conflict naming that very record.
fn assert_one_winner(by_op: &[Vec<Outcome>], field: Field) {
    for (i, outcomes) in by_op.iter().enumerate() {
        assert_eq!(outcomes.len(), THREADS);
        let winners: Vec<RecordRef> = outcomes
            .iter()
            .filter_map(|o| match o {
                Outcome::Saved { record, .. } => Some(*record),
                _ => None,
            })
            .collect();
        assert_eq!(winners.len(), 1, "op {i}: {outcomes:?}");
        for o in outcomes {
            match o {
                Outcome::Saved { .. } => {}
                Outcome::Conflict(c) => {
                    assert_eq!(c.field, field);
                    assert_eq!(
                        c.holder.reference(),
                        winners[0],
                        "conflict names the winner"
                    );
                }
                other => panic!("op {i}: unexpected {other:?}"),
            }
        }
    }
}

fn sixteen_threads_same_placements_give_one_live_row_each(w: &Where) {
    let client = w.client();
    let book = client.book("Dune");
    let collections: Vec<_> = (0..10)
        .map(|j| client.collection(&format!("Shelf {j}")))
        .collect();
    let ops: Vec<Op> = (0..PAIRS)
        .map(|i| {
            let copy = client.copy(book, &format!("{i:04}"));
            place_op(copy, collections[i % 10], "")
        })
        .collect();

    let by_op = race(&client, &ops);

    assert_one_winner(&by_op, Field::Copy);
    assert_eq!(client.live("placements"), PAIRS as i64);
    // The conflict says where the copy already is, in words.
    let conflict = by_op[42]
        .iter()
        .find_map(|o| match o {
            Outcome::Conflict(c) => Some(c.clone()),
            _ => None,
        })
        .unwrap();
    let Holder::Placement {
        barcode,
        title,
        collection,
        ..
    } = &conflict.holder
    else {
        panic!("{conflict:?}")
    };
    assert_eq!((barcode.as_str(), title.as_str()), ("0042", "Dune"));
    assert_eq!(collection, "Shelf 2");
    assert!(
        conflict
            .message(&jiff::tz::TimeZone::UTC)
            .starts_with("Copy 0042 (Dune) is already in Shelf 2 — added ")
    );
    w.assert_healthy();
}

fn sixteen_threads_same_barcodes_give_one_live_copy_each(w: &Where) {
    let client = w.client();
    let book = client.book("Dune");
    // Lower and upper case are one barcode: barcodes are stored upper-cased.
    let ops: Vec<Op> = (0..PAIRS)
        .map(|i| {
            Op::Create(Draft::Copy(CopyDraft {
                book_id: book,
                barcode: format!("bc-{i:04}"),
            }))
        })
        .collect();
    let by_op = race(&client, &ops);
    assert_one_winner(&by_op, Field::Barcode);
    assert_eq!(client.live("copies"), PAIRS as i64);
    w.assert_healthy();
}

fn sixteen_threads_same_collection_names_give_one_live_collection_each(w: &Where) {
    let client = w.client();
    // Every thread spells the names in its own case: they are still one name.
    let barrier = Barrier::new(THREADS);
    let results: Vec<Vec<(usize, Outcome)>> = std::thread::scope(|sc| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let (client, barrier) = (&client, &barrier);
                sc.spawn(move || {
                    let editor = client.editor();
                    barrier.wait();
                    (0..PAIRS)
                        .map(|i| {
                            let name = format!("Rare Bücher {i}");
                            let name = if t % 2 == 0 {
                                name.to_uppercase()
                            } else {
                                name.to_lowercase()
                            };
                            (
                                i,
                                editor.save(Op::Create(Draft::Collection(CollectionDraft {
                                    name,
                                    description: String::new(),
                                }))),
                            )
                        })
                        .collect()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut by_op = vec![Vec::new(); PAIRS];
    for (i, o) in results.into_iter().flatten() {
        by_op[i].push(o);
    }
    assert_one_winner(&by_op, Field::Name);
    assert_eq!(client.live("collections"), PAIRS as i64);
    w.assert_healthy();
}

fn stale_update_returns_the_current_values(w: &Where) {
    let client = w.client();
    let book = client.book("SICP");
    let copy = client.copy(book, "0001");
    let shelf = client.collection("Computing");
    let id = placement_id(&client.place(copy, shelf));
    let edit = |version: i64, mark: &str| Op::Update {
        target: id.into(),
        version,
        draft: Draft::Placement(PlacementDraft {
            copy_id: copy,
            collection_id: shelf,
            shelf_mark: mark.into(),
            note: String::new(),
        }),
    };
    // Two editors opened version 1; the first saves, the second is told.
    assert_eq!(
        client.save(edit(1, "QA76 .K5")),
        Outcome::Saved {
            record: id.into(),
            version: 2
        }
    );
    match client.save(edit(1, "QA76 .A1")) {
        Outcome::Stale(Record::Placement(p)) => {
            assert_eq!(p.shelf_mark, "QA76 .K5");
            assert_eq!(p.meta.version, 2);
        }
        other => panic!("expected Stale, got {other:?}"),
    }
    // "Keep mine": save over the version it was told about.
    assert!(client.save(edit(2, "QA76 .A1")).is_saved());
    let stored = client.reads().placement(id).unwrap().unwrap();
    assert_eq!(
        (stored.shelf_mark.as_str(), stored.meta.version),
        ("QA76 .A1", 3)
    );
}

fn update_of_a_record_deleted_elsewhere_says_so(w: &Where) {
    let client = w.client();
    let book = client.book("SICP");
    let copy = client.copy(book, "0001");
    let shelf = client.collection("Computing");
    let id = placement_id(&client.place(copy, shelf));
    assert!(
        client
            .save(Op::Delete {
                target: id.into(),
                version: 1
            })
            .is_saved()
    );
    let outcome = client.save(Op::Update {
        target: id.into(),
        version: 1,
        draft: Draft::Placement(PlacementDraft {
            copy_id: copy,
            collection_id: shelf,
            shelf_mark: "X".into(),
            note: String::new(),
        }),
    });
    match outcome {
        Outcome::DeletedElsewhere(Record::Placement(p)) => {
            assert!(p.meta.deleted_at.is_some());
            assert_eq!(p.meta.version, 2);
        }
        other => panic!("expected DeletedElsewhere, got {other:?}"),
    }
    // Deleting twice: the second editor learns it is already in the Trash.
    assert!(matches!(
        client.save(Op::Delete {
            target: id.into(),
            version: 1
        }),
        Outcome::DeletedElsewhere(_)
    ));
}

fn restore_that_would_duplicate_is_a_conflict_and_changes_nothing(w: &Where) {
    let client = w.client();
    let book = client.book("Dune");
    let copy = client.copy(book, "0042");
    let rare = client.collection("Rare Books");
    let first = placement_id(&client.place(copy, rare));
    assert!(
        client
            .save(Op::Delete {
                target: first.into(),
                version: 1
            })
            .is_saved()
    );
    // The copy is placed again, then someone restores the old placement from the Trash.
    let second = placement_id(&client.place(copy, rare));
    match client.save(Op::Restore {
        target: first.into(),
        version: 2,
    }) {
        Outcome::Conflict(c) => {
            assert_eq!(c.field, Field::Copy);
            assert_eq!(c.holder.reference(), second.into());
        }
        other => panic!("expected Conflict, got {other:?}"),
    }
    assert_eq!(client.live("placements"), 1);
    let old = client.reads().placement(first).unwrap().unwrap();
    assert!(old.meta.deleted_at.is_some(), "still in the Trash");
    assert_eq!(old.meta.version, 2, "untouched");
    w.assert_healthy();
}

fn trash_takes_children_and_restore_brings_them_back(w: &Where) {
    let client = w.client();
    let book = client.book("Dune");
    let copies: Vec<_> = (0..3)
        .map(|i| client.copy(book, &format!("D{i}")))
        .collect();
    let rare = client.collection("Rare Books");
    let loan = client.collection("Loans");
    for c in &copies {
        assert!(client.place(*c, rare).is_saved());
    }
    assert!(client.place(copies[0], loan).is_saved());
    // A placement deleted on its own earlier stays in the Trash when its book comes back.
    let alone = placement_id(&client.place(copies[1], loan));
    assert!(
        client
            .save(Op::Delete {
                target: alone.into(),
                version: 1
            })
            .is_saved()
    );

    assert!(
        client
            .save(Op::Delete {
                target: book.into(),
                version: 1
            })
            .is_saved()
    );
    {
        assert_eq!(client.live("copies"), 0);
        assert_eq!(client.live("placements"), 0);
    }
    // A copy cannot come back while its book is in the Trash...
    match client.save(Op::Restore {
        target: copies[0].into(),
        version: 2,
    }) {
        Outcome::Invalid(e) => assert!(e[0].message.contains("in the Trash"), "{e:?}"),
        other => panic!("expected Invalid, got {other:?}"),
    }
    // ...and a new placement cannot be made for it.
    assert!(matches!(client.place(copies[2], loan), Outcome::Invalid(_)));

    assert!(
        client
            .save(Op::Restore {
                target: book.into(),
                version: 2
            })
            .is_saved()
    );
    assert_eq!(client.live("copies"), 3);
    assert_eq!(client.live("placements"), 4);
    assert!(
        client
            .reads()
            .placement(alone)
            .unwrap()
            .unwrap()
            .meta
            .deleted_at
            .is_some()
    );
    w.assert_healthy();
}

fn restoring_a_book_whose_barcode_was_reused_is_a_conflict(w: &Where) {
    let client = w.client();
    let old = client.book("Old edition");
    client.copy(old, "0042");
    assert!(
        client
            .save(Op::Delete {
                target: old.into(),
                version: 1
            })
            .is_saved()
    );
    let new = client.book("New edition");
    let reused = client.copy(new, "0042");
    match client.save(Op::Restore {
        target: old.into(),
        version: 2,
    }) {
        Outcome::Conflict(c) => {
            assert_eq!(c.field, Field::Barcode);
            assert_eq!(c.holder.reference(), reused.into());
        }
        other => panic!("expected Conflict, got {other:?}"),
    }
    let book = client.reads().book(old).unwrap().unwrap();
    assert!(
        book.meta.deleted_at.is_some(),
        "the whole restore rolled back"
    );
}

fn purge_only_from_the_trash_and_then_gone(w: &Where) {
    let client = w.client();
    let shelf = client.collection("Weeding");
    let target = RecordRef {
        kind: Kind::Collection,
        id: shelf.0,
    };
    // Live: purge refuses (the editor is told it is not in the Trash).
    assert!(matches!(
        client.save(Op::Purge { target, version: 1 }),
        Outcome::Stale(_)
    ));
    assert!(client.save(Op::Delete { target, version: 1 }).is_saved());
    assert!(client.save(Op::Purge { target, version: 2 }).is_saved());
    assert_eq!(
        client.save(Op::Restore { target, version: 2 }),
        Outcome::Gone(target)
    );
}

fn invalid_drafts_are_refused_with_field_errors(w: &Where) {
    let client = w.client();
    let book = client.book("Dune");
    match client.save(Op::Create(Draft::Copy(CopyDraft {
        book_id: book,
        barcode: "00 42".into(),
    }))) {
        Outcome::Invalid(e) => assert_eq!(e[0].field, Field::Barcode),
        other => panic!("{other:?}"),
    }
    // SQL metacharacters are just text.
    let id = saved_id(&client.save(Op::Create(Draft::Collection(CollectionDraft {
        name: "'; DROP TABLE placements; --".into(),
        description: String::new(),
    }))));
    let c = client
        .reads()
        .collection(shelfmark::model::CollectionId(id))
        .unwrap()
        .unwrap();
    assert_eq!(c.name, "'; DROP TABLE placements; --");
    assert_eq!(client.live("placements"), 0);
}

fn one_conflict_in_a_group_commit_rolls_back_only_that_save(w: &Where) {
    let client = w.client();
    let book = client.book("Dune");
    let shelf = client.collection("Shelf");
    let copies: Vec<_> = (0..50)
        .map(|i| client.copy(book, &format!("G{i}")))
        .collect();
    // Submit everything at once so it commits in groups; every third op duplicates the one
    // before it.
    let editor = client.editor();
    let mut expected_saved = 0;
    let mut requests = Vec::new();
    for (i, c) in copies.iter().enumerate() {
        let copy = if i % 3 == 2 { copies[i - 1] } else { *c };
        if i % 3 != 2 {
            expected_saved += 1;
        }
        requests.push(
            client
                .tasks
                .submit(
                    shelfmark::tasks::EditorId(7),
                    place_op(copy, shelf, &format!("M{i}")),
                    &editor.mailbox,
                )
                .unwrap(),
        );
    }
    let mut outcomes = HashMap::new();
    while outcomes.len() < requests.len() {
        let reply = editor.rx.recv().unwrap();
        if let shelfmark::tasks::Event::Done(o) = reply.event {
            outcomes.insert(reply.request, o);
        }
    }
    let saved = outcomes.values().filter(|o| o.is_saved()).count();
    assert_eq!(saved, expected_saved);
    assert_eq!(client.live("placements"), expected_saved as i64);
}

/// A bulk load (the seed generator's path) is invisible until it is finished, then whole and
/// healthy, with the same keys a save computes; a save afterwards gets an id after the load's.
fn a_bulk_load_is_seen_whole_and_saves_follow_it(w: &Where) {
    use shelfmark::model::{Stamp, ValidBook, ValidCollection, ValidCopy, ValidPlacement};
    // Past the server's 10 000-row blocks of ids and rows.
    const COPIES: usize = 12_345;
    let client = w.client();
    let mut bulk = client.library.bulk().expect("bulk");
    let at = Stamp::now().truncated();
    let collection = bulk
        .insert_collection(
            &ValidCollection {
                name: "Stacks".into(),
                name_key: shelfmark::model::name_key("Stacks"),
                description: "tab\there\nand a backslash \\".into(),
            },
            at,
        )
        .expect("collection");
    let book = bulk
        .insert_book(
            &ValidBook {
                title: "The Tab\tand\nNewline Book".into(),
                authors: "Gödel, Kurt".into(),
                isbn: Some("9780306406157".into()),
                publisher: "Line\nBreak".into(),
                year: Some(1931),
                nonfiling: None,
            },
            at,
        )
        .expect("book");
    let mut last = 0;
    for i in 0..COPIES {
        let copy = bulk
            .insert_copy(
                &ValidCopy {
                    book_id: book,
                    barcode: format!("B{i:06}"),
                },
                at,
            )
            .expect("copy");
        let placement = bulk
            .insert_placement(
                &ValidPlacement {
                    copy_id: copy,
                    collection_id: collection,
                    shelf_mark: format!("QA76.{} .C65", i % 20),
                    note: String::new(),
                },
                at,
            )
            .expect("placement");
        last = last.max(copy.0);
        let _ = placement;
    }
    assert_eq!(
        client.live("copies"),
        0,
        "nothing is visible before the load ends"
    );
    bulk.finish().expect("finish");
    assert_eq!(client.live("copies"), COPIES as i64);
    assert_eq!(client.live("placements"), COPIES as i64);
    let listed = client.reads().collections().expect("collections");
    assert_eq!(
        listed[0].placements, COPIES as i64,
        "the kept count is the load's"
    );
    if let Where::Server { db } = w {
        // The load folded its count deltas (one per COPY of ten thousand rows): nothing is
        // left over for every later count to sum.
        let left = crate::util::pg::shared()
            .psql(db, "SELECT count(*) FROM collection_count_deltas")
            .unwrap();
        assert_eq!(left.trim(), "0", "a load leaves no count deltas");
    }
    w.assert_healthy();
    // The words and keys are those of a save: the book is found by a folded word of its authors.
    let found = client.reads().search_books("godel", 10).expect("search");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].book.title, "The Tab\tand\nNewline Book");
    let later = client.copy(book, "AFTER-THE-LOAD");
    assert!(
        later.0 > last,
        "a save after the load gets a later id: {later:?} vs {last}"
    );
}

on_both_backends!(
    a_bulk_load_is_seen_whole_and_saves_follow_it,
    sixteen_threads_same_placements_give_one_live_row_each,
    sixteen_threads_same_barcodes_give_one_live_copy_each,
    sixteen_threads_same_collection_names_give_one_live_collection_each,
    stale_update_returns_the_current_values,
    update_of_a_record_deleted_elsewhere_says_so,
    restore_that_would_duplicate_is_a_conflict_and_changes_nothing,
    trash_takes_children_and_restore_brings_them_back,
    restoring_a_book_whose_barcode_was_reused_is_a_conflict,
    purge_only_from_the_trash_and_then_gone,
    invalid_drafts_are_refused_with_field_errors,
    one_conflict_in_a_group_commit_rolls_back_only_that_save,
);
