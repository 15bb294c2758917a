//! "Restore as…": a record in the Trash whose own value was taken meanwhile comes back changed
//! (a collection under a new name, a copy with a new barcode, a book without its ISBN or
//! merged into the book that holds it), in one save, version-checked, or not at all.

use egui_kittest::kittest::Queryable;
use shelfmark::model::{BookDraft, BookId, Draft, Holder, Op, Outcome, RecordRef, RestoreChange};

use crate::ui::{app, shows, wait_for};
use crate::util::{self, Client, live, saved_id};

fn trash(c: &Client, target: RecordRef) -> i64 {
    let version = c.reads().record(target).unwrap().unwrap().meta().version;
    match c.save(Op::Delete { target, version }) {
        Outcome::Saved { version, .. } => version,
        o => panic!("{o:?}"),
    }
}

fn restore_as(c: &Client, target: RecordRef, version: i64, change: RestoreChange) -> Outcome {
    c.save(Op::RestoreAs {
        target,
        version,
        change,
    })
}

#[test]
fn a_collection_whose_name_was_taken_comes_back_under_a_new_name_with_its_placements() {
    let s = util::scratch();
    let c = Client::new(&s.path);
    let book = c.book("Dune");
    let copy = c.copy(book, "0042");
    let rare = c.collection("Rare Books");
    assert!(c.place(copy, rare).is_saved());
    let v = trash(&c, rare.into());
    c.collection("rare books");
    let plain = c.save(Op::Restore {
        target: rare.into(),
        version: v,
    });
    assert!(matches!(plain, Outcome::Conflict(_)), "{plain:?}");
    let back = restore_as(
        &c,
        rare.into(),
        v,
        RestoreChange::Rename("Rare Books (old)".into()),
    );
    assert!(back.is_saved(), "{back:?}");
    let stored = c.reads().collection(rare).unwrap().unwrap();
    assert_eq!(stored.name, "Rare Books (old)");
    assert!(stored.meta.is_live());
    assert_eq!(
        live(&c.conn(), "placements"),
        1,
        "its placement came back with it"
    );
    // The new name is taken too: a conflict, and nothing changed.
    let v = trash(&c, rare.into());
    c.collection("Rare Books (old)");
    let again = restore_as(
        &c,
        rare.into(),
        v,
        RestoreChange::Rename("rare books (OLD)".into()),
    );
    assert!(matches!(again, Outcome::Conflict(_)), "{again:?}");
    let stored = c.reads().collection(rare).unwrap().unwrap();
    assert!(!stored.meta.is_live());
    assert_eq!(stored.name, "Rare Books (old)", "untouched");
    util::assert_healthy(&s.path);
}

#[test]
fn a_copy_whose_barcode_was_taken_comes_back_with_a_new_barcode() {
    let s = util::scratch();
    let c = Client::new(&s.path);
    let book = c.book("Dune");
    let copy = c.copy(book, "0042");
    let v = trash(&c, copy.into());
    c.copy(book, "0042");
    let back = restore_as(
        &c,
        copy.into(),
        v,
        RestoreChange::Rebarcode(" 0042-b ".into()),
    );
    assert!(back.is_saved(), "{back:?}");
    assert_eq!(c.reads().copy(copy).unwrap().unwrap().barcode, "0042-B");
    assert_eq!(live(&c.conn(), "copies"), 2);
    // A stale version changes nothing.
    let v = trash(&c, copy.into());
    let stale = restore_as(
        &c,
        copy.into(),
        v - 1,
        RestoreChange::Rebarcode("0099".into()),
    );
    assert!(matches!(stale, Outcome::Stale(_)), "{stale:?}");
    util::assert_healthy(&s.path);
}

#[test]
fn a_book_whose_isbn_was_taken_comes_back_without_it_or_merged_into_its_holder() {
    let s = util::scratch();
    let c = Client::new(&s.path);
    let isbn_book = |title: &str| {
        BookId(saved_id(&c.save(Op::Create(Draft::Book(BookDraft {
            title: title.into(),
            isbn: "978-0-441-17271-9".into(),
            ..BookDraft::default()
        })))))
    };
    let old = isbn_book("Dune (1965)");
    let copy = c.copy(old, "0042");
    let shelf = c.collection("Shelf");
    assert!(c.place(copy, shelf).is_saved());
    let v = trash(&c, old.into());
    let holder = isbn_book("Dune");
    // Without its ISBN.
    let back = restore_as(&c, old.into(), v, RestoreChange::WithoutIsbn);
    assert!(back.is_saved(), "{back:?}");
    let stored = c.reads().book(old).unwrap().unwrap();
    assert!(stored.meta.is_live() && stored.isbn.is_none());
    // Or merged: its copies (and their placements) come back under the holder.
    let v = trash(&c, old.into());
    let merged = restore_as(&c, old.into(), v, RestoreChange::MergeInto(holder));
    assert!(merged.is_saved(), "{merged:?}");
    let copy_now = c.reads().copy(copy).unwrap().unwrap();
    assert_eq!(copy_now.book_id, holder);
    assert!(copy_now.meta.is_live());
    assert!(c.reads().live_placement(copy, shelf).unwrap().is_some());
    assert!(
        !c.reads().book(old).unwrap().unwrap().meta.is_live(),
        "the empty record stays"
    );
    util::assert_healthy(&s.path);
}

#[test]
fn a_placement_whose_copy_is_back_in_that_collection_has_nothing_to_restore() {
    let s = util::scratch();
    let c = Client::new(&s.path);
    let book = c.book("Dune");
    let copy = c.copy(book, "0042");
    let shelf = c.collection("Shelf");
    let placement = util::placement_id(&c.place(copy, shelf));
    let version = trash(&c, placement.into());
    assert!(c.place(copy, shelf).is_saved());
    match c.save(Op::Restore {
        target: placement.into(),
        version,
    }) {
        Outcome::Conflict(conflict) => {
            assert!(matches!(conflict.holder, Holder::Placement { .. }));
        }
        o => panic!("{o:?}"),
    }
}

#[test]
fn in_the_window_restore_as_offers_a_new_name_and_typing_a_trashed_name_says_so() {
    let s = util::scratch();
    let c = Client::new(&s.path);
    let rare = c.collection("Rare Books");
    trash(&c, rare.into());
    c.collection("Other");
    let mut h = app(&s.path);
    // Typing the name of a collection that is in the Trash says so.
    wait_for(&mut h, "the collections", |h| shows(h, "Other  ("));
    h.get_by_label("New").click();
    wait_for(&mut h, "the form", |h| h.query_by_label("Name").is_some());
    h.get_by_label("Name").focus();
    h.step();
    h.get_by_label("Name").type_text("rare books");
    wait_for(&mut h, "the warning", |h| {
        shows(h, "“Rare Books” is in the Trash")
    });
    h.get_by_label("Create").click();
    wait_for(&mut h, "the new collection", |h| shows(h, "rare books  ("));
    // Its namesake in the Trash now conflicts; "Restore as…" brings it back under a new name.
    h.get_by_label("Trash").click();
    wait_for(&mut h, "the Trash", |h| {
        h.query_by_label("Restore").is_some()
    });
    h.get_by_label("Restore").click();
    wait_for(&mut h, "the conflict", |h| shows(h, "Cannot restore:"));
    h.get_by_label("New name").focus();
    h.step();
    h.get_by_label("New name").type_text("Rare Books 1998");
    h.step();
    h.get_by_label("Restore as…").click();
    wait_for(&mut h, "the restore", |h| {
        shows(h, "Restored collection “Rare Books” as “Rare Books 1998”")
    });
    assert!(
        !shows(&h, "Cannot restore:"),
        "the message went with the problem"
    );
    wait_for(&mut h, "the side panel", |h| shows(h, "Rare Books 1998  ("));
}
