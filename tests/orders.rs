//! The collection editor's orders at any depth: windows read by key from each order's index
//! give exactly the rows a full sort gives, the marks a scroll bar lands on are every
//! thousandth of them, walking on from a window never skips or repeats a row while others
//! save, and the kept copies of titles and barcodes the orders sort by follow every edit.

use std::collections::HashSet;

use shelfmark::db::Reads;
use shelfmark::model::{
    BookDraft, CollectionId, CopyDraft, Draft, MARK_EVERY, Op, PlacementId, RecordRef, SortKey,
    Stamp, ValidBook, ValidCollection, ValidCopy, ValidPlacement, WindowQuery, WindowStart,
    name_key,
};

use crate::util::{self, Client, assert_healthy, place_op};

const ORDERS: [SortKey; 4] = [
    SortKey::Added,
    SortKey::Title,
    SortKey::Barcode,
    SortKey::ShelfMark,
];

/// A library of `n` placements in one collection (bulk-loaded, as an import does), with titles,
/// barcodes and shelf marks that tie and that need their sort keys (articles, numbers, call
/// numbers).
fn library(path: &std::path::Path, n: usize) -> CollectionId {
    let library = util::open(path);
    let mut bulk = library.bulk().unwrap();
    let t0 = Stamp::now().0.as_second() - 86_400;
    let at = |i: usize| Stamp(jiff::Timestamp::from_second(t0 + (i / 3) as i64).unwrap());
    let name = "Main Stacks".to_owned();
    let shelf = bulk
        .insert_collection(
            &ValidCollection {
                name_key: name_key(&name),
                name,
                description: String::new(),
            },
            at(0),
        )
        .unwrap();
    let titles = [
        "The Hobbit",
        "Dune",
        "a tale of 2 cities",
        "A Tale of 10 Cities",
        "Émile",
    ];
    let marks = [
        "QA76.9 .C65",
        "QA76.10",
        "823.912",
        "823.92",
        "",
        "PR6039.O32 H6 1937",
    ];
    let mut book = None;
    for i in 0..n {
        if i % 4 == 0 {
            let b = ValidBook {
                title: format!("{} {}", titles[i % titles.len()], i % 7),
                authors: String::new(),
                isbn: None,
                publisher: String::new(),
                year: None,
                nonfiling: None,
            };
            book = Some(bulk.insert_book(&b, at(i)).unwrap());
        }
        let copy = bulk
            .insert_copy(
                &ValidCopy {
                    book_id: book.unwrap(),
                    // Not in id order.
                    barcode: format!("B{:06}", (i * 7919) % 1_000_003),
                },
                at(i),
            )
            .unwrap();
        bulk.insert_placement(
            &ValidPlacement {
                copy_id: copy,
                collection_id: shelf,
                shelf_mark: marks[i % marks.len()].to_owned(),
                note: String::new(),
            },
            at(i),
        )
        .unwrap();
    }
    bulk.finish().unwrap();
    shelf
}

/// The live placements of `collection` in `sort`, sorted here from the stored keys (bytewise,
/// the id breaking ties), as the reference.
fn sorted(path: &std::path::Path, collection: CollectionId, sort: SortKey, asc: bool) -> Vec<i64> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let column = match sort {
        SortKey::Added => "p.created_at",
        SortKey::Title => "b.title_key",
        SortKey::Barcode => "c.barcode",
        SortKey::ShelfMark => "p.shelf_key",
    };
    let mut stmt = conn
        .prepare(&format!(
            "SELECT p.id, CAST({column} AS BLOB) FROM placements p
             JOIN copies c ON c.id = p.copy_id JOIN books b ON b.id = c.book_id
             WHERE p.collection_id = ?1 AND p.deleted_at IS NULL"
        ))
        .unwrap();
    let mut rows: Vec<(Vec<u8>, i64)> = stmt
        .query_map([collection.0], |r| Ok((r.get(1)?, r.get(0)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    rows.sort();
    if !asc {
        rows.reverse();
    }
    rows.into_iter().map(|(_, id)| id).collect()
}

fn query(
    collection: CollectionId,
    sort: SortKey,
    ascending: bool,
    start: WindowStart,
) -> WindowQuery {
    WindowQuery {
        collection,
        filter: String::new(),
        sort,
        ascending,
        start,
        before: 0,
        after: 100,
    }
}

/// Every row of the order, walking from the top a window at a time, each window starting
/// just past the last row of the one before.
fn walk(reads: &mut dyn Reads, collection: CollectionId, sort: SortKey, asc: bool) -> Vec<i64> {
    let mut ids = Vec::new();
    let mut start = WindowStart::Top { skip: 0 };
    loop {
        let w = reads
            .placement_window(&query(collection, sort, asc, start))
            .unwrap();
        ids.extend(w.rows.iter().map(|(_, r)| r.id.0));
        match w.rows.last() {
            Some((key, _)) if !w.at_end => {
                start = WindowStart::From {
                    row: key.clone(),
                    skip: 1,
                }
            }
            _ => return ids,
        }
    }
}

#[test]
fn windows_by_key_give_every_order_exactly_as_a_full_sort_does() {
    let s = util::scratch();
    let n = 2_345;
    let shelf = library(&s.path, n);
    let client = Client::new(&s.path);
    let mut reads = client.reads();
    for sort in ORDERS {
        for asc in [true, false] {
            let want = sorted(&s.path, shelf, sort, asc);
            assert_eq!(want.len(), n);
            assert_eq!(walk(&mut *reads, shelf, sort, asc), want, "{sort:?} {asc}");
            // The marks are every thousandth row of the ascending order.
            let marks = reads.order_marks(shelf, sort, MARK_EVERY).unwrap();
            let ascending = sorted(&s.path, shelf, sort, true);
            let mark_ids: Vec<i64> = marks.iter().map(|m| m.id.0).collect();
            let every: Vec<i64> = ascending.iter().step_by(MARK_EVERY).copied().collect();
            assert_eq!(mark_ids, every, "{sort:?}");
            // A jump lands on exactly the row asked for, at any depth, with the rows before it
            // when asked for them.
            for at in [0, 1, 999, 1_000, 1_001, 1_717, 2_000, n - 100, n - 1] {
                let start = WindowStart::landing(&marks, at, n, asc)
                    .unwrap_or(WindowStart::Top { skip: at });
                let w = reads
                    .placement_window(&WindowQuery {
                        before: 3,
                        ..query(shelf, sort, asc, start)
                    })
                    .unwrap();
                let got: Vec<i64> = w.rows.iter().map(|(_, r)| r.id.0).collect();
                let from = at.saturating_sub(3);
                let end = (at + 100).min(n);
                assert_eq!(got, want[from..end], "{sort:?} {asc} at {at}");
                assert_eq!(w.before, at - from);
                assert_eq!(w.at_start, at < 3, "{sort:?} {asc} at {at}");
                assert_eq!(w.at_end, at + 100 >= n, "{sort:?} {asc} at {at}");
            }
            // Stepping from the top (no marks) lands there too, from the index alone.
            let w = reads
                .placement_window(&query(shelf, sort, asc, WindowStart::Top { skip: 1_234 }))
                .unwrap();
            assert_eq!(w.rows[0].1.id.0, want[1_234]);
            // Past the end: the last rows.
            let w = reads
                .placement_window(&WindowQuery {
                    before: 5,
                    ..query(shelf, sort, asc, WindowStart::Top { skip: n + 10 })
                })
                .unwrap();
            let got: Vec<i64> = w.rows.iter().map(|(_, r)| r.id.0).collect();
            assert_eq!(got, want[n - 5..], "{sort:?} {asc} past the end");
            assert!(w.at_end && !w.at_start);
        }
    }
    // A filter pages the same way, over the matching rows only.
    let w = reads
        .placement_window(&WindowQuery {
            filter: "qa76.10".into(),
            after: 10_000,
            ..query(shelf, SortKey::Barcode, true, WindowStart::Top { skip: 0 })
        })
        .unwrap();
    assert_eq!(w.rows.len(), n.div_ceil(6));
    assert!(w.rows.iter().all(|(_, r)| r.shelf_mark == "QA76.10"));
    assert!(w.rows.windows(2).all(|p| p[0].1.barcode < p[1].1.barcode));
    drop(reads);
    drop(client);
    assert_healthy(&s.path);
}

#[test]
fn walking_on_never_skips_or_repeats_a_row_while_others_save() {
    let s = util::scratch();
    let shelf = library(&s.path, 1_500);
    let client = Client::new(&s.path);
    let book = client.book("Zwischen den Zeilen");
    let mut reads = client.reads();
    for sort in [SortKey::Added, SortKey::Barcode] {
        let before: HashSet<i64> = sorted(&s.path, shelf, sort, true).into_iter().collect();
        let mut seen = Vec::new();
        let mut removed = HashSet::new();
        let mut start = WindowStart::Top { skip: 0 };
        let mut round = 0;
        loop {
            let w = reads
                .placement_window(&query(shelf, sort, true, start))
                .unwrap();
            seen.extend(w.rows.iter().map(|(_, r)| r.id.0));
            // Between two windows, others add rows (before and after this point) and move
            // rows that were here to the Trash.
            for k in 0..3 {
                let copy = client.copy(book, &format!("A{sort:?}{round}x{k}"));
                assert!(client.save(place_op(copy, shelf, "")).is_saved());
                let copy = client.copy(book, &format!("Z{sort:?}{round}x{k}"));
                assert!(client.save(place_op(copy, shelf, "")).is_saved());
            }
            if let Some((_, r)) = w.rows.get(round % w.rows.len().max(1)) {
                let target = RecordRef::from(r.id);
                assert!(
                    client
                        .save(Op::Delete {
                            target,
                            version: r.version
                        })
                        .is_saved()
                );
                removed.insert(r.id.0);
            }
            round += 1;
            match w.rows.last() {
                Some((key, _)) if !w.at_end => {
                    start = WindowStart::From {
                        row: key.clone(),
                        skip: 1,
                    }
                }
                _ => break,
            }
        }
        let unique: HashSet<i64> = seen.iter().copied().collect();
        assert_eq!(unique.len(), seen.len(), "{sort:?}: a row was shown twice");
        for id in &before {
            assert!(unique.contains(id), "{sort:?}: row {id} was skipped");
        }
        // What was removed after it was shown was shown; nothing else of the old rows is missing.
        assert!(removed.iter().all(|id| unique.contains(id)));
    }
    drop(reads);
    drop(client);
    assert_healthy(&s.path);
}

/// The ids of `shelf`'s placements in title order (all of them: few rows).
fn by_title(reads: &mut dyn Reads, shelf: CollectionId) -> Vec<(String, String)> {
    reads
        .placement_window(&WindowQuery {
            after: 1_000,
            ..query(shelf, SortKey::Title, true, WindowStart::Top { skip: 0 })
        })
        .unwrap()
        .rows
        .into_iter()
        .map(|(_, r)| (r.title, r.barcode))
        .collect()
}

#[test]
fn the_kept_titles_and_barcodes_follow_every_edit_of_books_and_copies() {
    let s = util::scratch();
    let c = Client::new(&s.path);
    let shelf = c.collection("Stacks");
    let other = c.collection("Annex");
    let hobbit = c.book("The Hobbit");
    let dune = c.book("Dune");
    let h1 = c.copy(hobbit, "H1");
    let d1 = c.copy(dune, "D1");
    let mut pid: Vec<PlacementId> = Vec::new();
    for (copy, collection) in [(h1, shelf), (d1, shelf), (h1, other)] {
        pid.push(util::placement_id(&c.save(place_op(copy, collection, ""))));
    }
    let mut reads = c.reads();
    let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    };
    // "The Hobbit" files under H, after Dune.
    assert_eq!(
        by_title(&mut *reads, shelf),
        pairs(&[("Dune", "D1"), ("The Hobbit", "H1")])
    );
    // Retitle Dune: it files after the Hobbit now, in both collections' orders.
    assert!(
        c.save(Op::Update {
            target: dune.into(),
            version: 1,
            draft: Draft::Book(BookDraft {
                title: "Solaris".into(),
                ..BookDraft::default()
            }),
        })
        .is_saved()
    );
    assert_eq!(
        by_title(&mut *reads, shelf),
        pairs(&[("The Hobbit", "H1"), ("Solaris", "D1")])
    );
    // Change a barcode: the barcode order follows.
    assert!(
        c.save(Op::Update {
            target: h1.into(),
            version: 1,
            draft: Draft::Copy(CopyDraft {
                book_id: hobbit,
                barcode: "Z9".into(),
            }),
        })
        .is_saved()
    );
    let w = reads
        .placement_window(&query(
            shelf,
            SortKey::Barcode,
            true,
            WindowStart::Top { skip: 0 },
        ))
        .unwrap();
    let codes: Vec<&str> = w.rows.iter().map(|(_, r)| r.barcode.as_str()).collect();
    assert_eq!(codes, ["D1", "Z9"]);
    // A placement in the Trash while its book is retitled is brought up to date when it comes
    // back.
    let target = RecordRef::from(pid[2]);
    assert!(c.save(Op::Delete { target, version: 1 }).is_saved());
    assert!(
        c.save(Op::Update {
            target: hobbit.into(),
            version: 1,
            draft: Draft::Book(BookDraft {
                title: "Anathem".into(),
                ..BookDraft::default()
            }),
        })
        .is_saved()
    );
    assert!(c.save(Op::Restore { target, version: 2 }).is_saved());
    assert_eq!(by_title(&mut *reads, other), pairs(&[("Anathem", "Z9")]));
    drop(reads);
    drop(c);
    // `check` compares every kept key with its book and copy.
    assert_healthy(&s.path);
}

#[test]
fn check_finds_a_kept_title_that_is_not_its_books() {
    let s = util::scratch();
    {
        let c = Client::new(&s.path);
        let shelf = c.collection("Stacks");
        let book = c.book("Dune");
        let copy = c.copy(book, "D1");
        assert!(c.save(place_op(copy, shelf, "")).is_saved());
    }
    let conn = rusqlite::Connection::open(&s.path).unwrap();
    conn.execute("UPDATE placements SET title_key = 'zzz'", [])
        .unwrap();
    drop(conn);
    let (ok, report) = util::check(&s.path);
    assert!(!ok, "{report}");
    assert!(report.contains("kept title or barcode"), "{report}");
}

/// The editor itself on a collection long enough to have marks: wheel steps and long jumps
/// (as a dragged scroll bar makes) each show consecutive rows of the order, with no row left a
/// placeholder, and the very end shows the last row.
#[test]
fn the_editor_shows_consecutive_rows_wherever_it_is_scrolled_to() {
    use crate::ui::{App, open_collection, wait_for};
    use egui_kittest::kittest::{NodeT, Queryable};
    let s = util::scratch();
    let n = 6_000;
    let shelf = library(&s.path, n);
    // The default order: newest first.
    let ids = sorted(&s.path, shelf, SortKey::Added, false);
    let conn = rusqlite::Connection::open(&s.path).unwrap();
    let barcode_of: std::collections::HashMap<i64, String> = conn
        .prepare("SELECT p.id, c.barcode FROM placements p JOIN copies c ON c.id = p.copy_id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let position: std::collections::HashMap<String, usize> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (barcode_of[id].clone(), i))
        .collect();
    // Where in the order the rows on screen are.
    let shown = |h: &App| -> Vec<usize> {
        let mut at: Vec<usize> = h
            .query_all_by(|_| true)
            .filter_map(|node| {
                let node = node.accesskit_node();
                let text = node.value().or_else(|| node.label())?;
                position.get(text.as_str()).copied()
            })
            .collect();
        at.sort_unstable();
        at.dedup();
        at
    };
    let settled = |h: &App| {
        let at = shown(h);
        at.len() > 5
            && at.windows(2).all(|w| w[1] == w[0] + 1)
            && h.query_all_by_label("…").next().is_none()
    };
    let mut h = crate::ui::app(&s.path);
    open_collection(&mut h, "Main Stacks");
    wait_for(&mut h, "the first rows", |h| settled(h) && shown(h)[0] == 0);
    let mut last_top = 0;
    for delta in [-660.0, -60_000.0, -660.0, -40_000.0, 90_000.0, -30_000.0] {
        h.input_mut()
            .events
            .push(egui::Event::PointerMoved(egui::pos2(700.0, 600.0)));
        h.step();
        h.input_mut().events.push(egui::Event::MouseWheel {
            unit: egui::MouseWheelUnit::Point,
            delta: egui::vec2(0.0, delta),
            phase: egui::TouchPhase::Move,
            source: egui::MouseWheelSource::Unknown,
            modifiers: egui::Modifiers::NONE,
        });
        wait_for(
            &mut h,
            &format!("consecutive rows after a {delta} scroll"),
            |h| settled(h) && shown(h)[0] != last_top,
        );
        last_top = shown(&h)[0];
    }
    // To the very end: the oldest row.
    h.input_mut().events.push(egui::Event::MouseWheel {
        unit: egui::MouseWheelUnit::Point,
        delta: egui::vec2(0.0, -100_000_000.0),
        phase: egui::TouchPhase::Move,
        source: egui::MouseWheelSource::Unknown,
        modifiers: egui::Modifiers::NONE,
    });
    wait_for(&mut h, "the last row", |h| {
        settled(h) && shown(h).last() == Some(&(n - 1))
    });
}
