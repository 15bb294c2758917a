//! The real app, driven through AccessKit with egui_kittest: click by label, type, read the
//! inline messages. Each test runs on its own temporary library file; other "windows" and
//! "programs" are other app instances, connections and processes on the same file.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use egui::{Key, Modifiers};
use egui_kittest::Harness;
use egui_kittest::kittest::{By, NodeT, Queryable};
use shelfmark::ShelfmarkApp;
use shelfmark::model::{Draft, Op, PlacementDraft};

use crate::util::{self, Client, EXE};

pub type App = Harness<'static, ShelfmarkApp>;

/// The app on `path`, in a large window.
pub fn app(path: &Path) -> App {
    let library = util::open(path);
    Harness::builder()
        .with_size(egui::vec2(1400.0, 900.0))
        .build_eframe(move |cc| ShelfmarkApp::with_library(cc, library).expect("start the app"))
}

/// Steps frames, in real time so the background threads can answer, until `done` holds.
pub fn wait_for(h: &mut App, what: &str, done: impl Fn(&App) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        h.step();
        if done(h) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; on screen:\n{}",
            screen_text(h)
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Every label and value on screen, one per line (for failure messages).
pub fn screen_text(h: &App) -> String {
    h.query_all_by(|_| true)
        .filter_map(|n| {
            let node = n.accesskit_node();
            let text = node.value().or_else(|| node.label())?;
            (node.role() != egui::accesskit::Role::TextRun)
                .then(|| format!("{:?}: {text}", node.role()))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn shows(h: &App, text: &str) -> bool {
    h.query_all_by_label_contains(text).next().is_some()
}

/// Waits until a node whose label contains `text` is on screen.
pub fn wait_for_text(h: &mut App, text: &str) {
    wait_for(h, text, |h| shows(h, text));
}

/// A library with "Dune" (copies 0042 and 0043) and the collections "Rare Books" and "Loans".
pub fn dune_library(path: &Path) {
    let c = Client::new(path);
    let dune = c.book("Dune");
    c.copy(dune, "0042");
    c.copy(dune, "0043");
    c.collection("Rare Books");
    c.collection("Loans");
}

/// Opens a collection from the side panel and waits for its editor.
pub fn open_collection(h: &mut App, name: &str) {
    wait_for_text(h, &format!("{name}  ("));
    h.get_by_label_contains(&format!("{name}  (")).click();
    wait_for(h, "the editor", |h| {
        h.query_by_label("Scan barcode").is_some()
            && h.query_all_by_label_contains("cop").next().is_some()
    });
}

/// Types a barcode into the editor's scan field and presses Enter, like a scanner.
pub fn scan(h: &mut App, barcode: &str) {
    h.get_by_label("Scan barcode").focus();
    h.step();
    h.get_by_label("Scan barcode").type_text(barcode);
    h.step();
    h.key_press(Key::Enter);
    h.step();
}

#[test]
fn sample_library_loads_from_the_welcome_screen() {
    let s = util::scratch();
    let mut h = app(&s.path);
    wait_for_text(&mut h, "This library is empty");
    h.get_by_label("Load sample library").click();
    wait_for_text(&mut h, "Classics");
    wait_for_text(&mut h, "Pride and Prejudice");
    // Every input on screen has a name a screen reader can read.
    h.run_ok();
    assert_eq!(h.unnamed_widgets(), Vec::<String>::new());
}

#[test]
fn scan_adds_a_row_and_a_second_scan_shows_the_conflict_inline() {
    let s = util::scratch();
    dune_library(&s.path);
    let mut h = app(&s.path);
    open_collection(&mut h, "Rare Books");
    scan(&mut h, "0042");
    // The field is cleared at once and keeps the focus for the next scan.
    assert_eq!(h.get_by_label("Scan barcode").value().as_deref(), Some(""));
    wait_for(&mut h, "the new row", |h| {
        h.query_by_label("Remove 0042").is_some()
    });
    assert!(
        h.get_by_label("Scan barcode").is_focused(),
        "focus stays in the scan field"
    );

    scan(&mut h, "0042");
    wait_for_text(&mut h, "Copy 0042 (Dune) is already in Rare Books — added ");
    let message = h
        .get_by_label_contains("is already in Rare Books")
        .value()
        .unwrap_or_default();
    let year = jiff::Zoned::now().year().to_string();
    assert!(
        message.contains(&year),
        "names the date it was added: {message}"
    );
    // "Show" filters the table down to the placement that holds the copy.
    h.get_by_label("Show").click();
    wait_for(&mut h, "the filter", |h| {
        h.get_by_label("Filter").value().as_deref() == Some("0042")
    });

    // An unknown barcode offers to create the copy; creating it adds the row.
    scan(&mut h, "0099");
    wait_for_text(&mut h, "No copy has barcode 0099.");
    h.get_by_label("Create copy…").click();
    // The form is a dialog; it shows from its second frame (egui sizes new windows first).
    wait_for(&mut h, "the create-copy dialog", |h| {
        h.query_by_label("Book title").is_some()
    });
    h.get_by_label("Book title").focus();
    h.step();
    h.get_by_label("Book title").type_text("Children of Dune");
    wait_for_text(&mut h, "Create book, copy and add");
    h.get_by_label("Create book, copy and add").click();
    wait_for(&mut h, "the copy to be created and placed", |h| {
        shows(h, "Rare Books  (2)") && !shows(h, "0099")
    });
    h.get_by_label("Clear filter").click();
    wait_for(&mut h, "the created copy's row", |h| {
        h.query_by_label("Remove 0099").is_some()
    });
    let conn = Client::new(&s.path).conn();
    assert_eq!(util::live(&conn, "placements"), 2);
}

#[test]
fn two_app_instances_adding_the_same_copy_at_once_give_one_row() {
    let s = util::scratch();
    dune_library(&s.path);
    let mut a = app(&s.path);
    let mut b = app(&s.path);
    open_collection(&mut a, "Rare Books");
    open_collection(&mut b, "Rare Books");
    for h in [&mut a, &mut b] {
        h.get_by_label("Scan barcode").focus();
        h.step();
        h.get_by_label("Scan barcode").type_text("0042");
        h.step();
    }
    // Both press Enter before either has an answer.
    a.key_press(Key::Enter);
    b.key_press(Key::Enter);
    a.step();
    b.step();
    let conflict = "Copy 0042 (Dune) is already in Rare Books";
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        a.step();
        b.step();
        let settled = |h: &App| {
            !shows(h, "Adding…")
                && (shows(h, conflict) || h.query_by_label("Remove 0042").is_some())
        };
        if settled(&a) && settled(&b) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "both editors get an answer:\n{}\n---\n{}",
            screen_text(&a),
            screen_text(&b)
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let conflicts = [shows(&a, conflict), shows(&b, conflict)];
    assert_eq!(
        conflicts.iter().filter(|c| **c).count(),
        1,
        "exactly one editor is told: {conflicts:?}"
    );
    let conn = Client::new(&s.path).conn();
    assert_eq!(util::live(&conn, "placements"), 1);
    // Both editors show the one row.
    for h in [&mut a, &mut b] {
        wait_for(h, "the row", |h| h.query_by_label("Remove 0042").is_some());
    }
}

#[test]
fn stale_edit_says_what_changed_and_keep_mine_saves() {
    let s = util::scratch();
    dune_library(&s.path);
    let other = Client::new(&s.path);
    let copy = shelfmark::model::CopyId(1);
    let shelf = shelfmark::model::CollectionId(1);
    let id = util::placement_id(&other.save(util::place_op(copy, shelf, "QA76 .A1")));

    let mut h = app(&s.path);
    open_collection(&mut h, "Rare Books");
    wait_for(&mut h, "the row", |h| {
        h.query_by_label("Edit shelf mark of 0042").is_some()
    });
    h.get_by_label("Edit shelf mark of 0042").click();
    wait_for(&mut h, "the edit field", |h| {
        h.query(
            By::new()
                .role(egui::accesskit::Role::TextInput)
                .label("Shelf mark"),
        )
        .is_some()
    });
    // Another window saves first.
    let edit = |version, mark: &str| Op::Update {
        target: id.into(),
        version,
        draft: Draft::Placement(PlacementDraft {
            copy_id: copy,
            collection_id: shelf,
            shelf_mark: mark.into(),
            note: String::new(),
        }),
    };
    assert!(other.save(edit(1, "QA76 .K5")).is_saved());

    let field = By::new()
        .role(egui::accesskit::Role::TextInput)
        .label("Shelf mark");
    h.get(field.clone()).focus();
    h.step();
    h.key_press_modifiers(Modifiers::COMMAND, Key::A);
    h.step();
    h.get(field).type_text("QA76 .M1");
    h.step();
    h.get_by_label("Save").click();
    wait_for_text(
        &mut h,
        "Changed in another window since you opened it: shelf mark is now 'QA76 .K5'",
    );
    h.get_by_label("Keep mine").click();
    // The edit closes once the save is answered (not merely sent).
    wait_for(&mut h, "the edit to close", |h| {
        h.query(
            By::new()
                .role(egui::accesskit::Role::TextInput)
                .label("Shelf mark"),
        )
        .is_none()
    });
    let stored = other.reads().placement(id).unwrap().unwrap();
    assert_eq!(
        (stored.shelf_mark.as_str(), stored.meta.version),
        ("QA76 .M1", 3)
    );
}

#[test]
fn remove_offers_undo_and_a_conflicting_restore_duplicates_nothing() {
    let s = util::scratch();
    dune_library(&s.path);
    let mut h = app(&s.path);
    open_collection(&mut h, "Rare Books");
    scan(&mut h, "0042");
    wait_for(&mut h, "the row", |h| {
        h.query_by_label("Remove 0042").is_some()
    });

    // Remove, then Undo.
    h.get_by_label("Remove 0042").click();
    wait_for_text(&mut h, "Removed copy 0042 (Dune) from Rare Books.");
    wait_for(&mut h, "the row to go", |h| {
        h.query_by_label("Remove 0042").is_none()
    });
    h.get_by_label("Undo").click();
    wait_for(&mut h, "the row to come back", |h| {
        h.query_by_label("Remove 0042").is_some() && h.query_by_label("Undo").is_none()
    });

    // Remove, add the copy again, then try to undo the removal: that would duplicate it.
    h.get_by_label("Remove 0042").click();
    wait_for(&mut h, "the row to go", |h| {
        h.query_by_label("Remove 0042").is_none()
    });
    scan(&mut h, "0042");
    wait_for(&mut h, "the re-added row", |h| {
        h.query_by_label("Remove 0042").is_some()
    });
    h.get_by_label("Undo").click();
    wait_for_text(
        &mut h,
        "Cannot undo: Copy 0042 (Dune) is already in Rare Books — added",
    );

    // The Trash says the same.
    h.get_by_label("Trash").click();
    wait_for_text(&mut h, "Copy 0042 (Dune) in Rare Books");
    h.get_by_label("Restore").click();
    wait_for_text(
        &mut h,
        "Cannot restore: Copy 0042 (Dune) is already in Rare Books",
    );
    let conn = Client::new(&s.path).conn();
    assert_eq!(util::live(&conn, "placements"), 1);
    drop(conn);
    util::assert_healthy(&s.path);
}

#[test]
fn a_save_waits_for_another_writer_without_blocking_the_ui() {
    let s = util::scratch();
    dune_library(&s.path);
    let mut h = app(&s.path);
    open_collection(&mut h, "Rare Books");

    // Another connection takes the write lock for 3 s.
    let (locked_tx, locked_rx) = std::sync::mpsc::channel();
    let path = s.path.clone();
    let holder = std::thread::spawn(move || {
        let conn = rusqlite::Connection::open(path).unwrap();
        conn.execute_batch("BEGIN IMMEDIATE").unwrap();
        locked_tx.send(()).unwrap();
        std::thread::sleep(Duration::from_secs(3));
        conn.execute_batch("COMMIT").unwrap();
    });
    locked_rx.recv().unwrap();
    let started = Instant::now();
    scan(&mut h, "0042");
    let mut slowest = Duration::ZERO;
    let mut frames = 0;
    let mut saw_waiting = false;
    while h.query_by_label("Remove 0042").is_none() {
        let t = Instant::now();
        h.step();
        slowest = slowest.max(t.elapsed());
        frames += 1;
        saw_waiting |= shows(
            &h,
            "Waiting for the library file — another program is writing",
        );
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the save lands"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    holder.join().unwrap();
    assert!(saw_waiting, "the editor said it was waiting");
    assert!(
        started.elapsed() >= Duration::from_millis(2500),
        "it did wait for the lock"
    );
    println!("{frames} frames while waiting, slowest {slowest:?}");
    assert!(frames > 50, "frames kept coming: {frames}");
    assert!(
        slowest < Duration::from_millis(250),
        "no frame waited on the lock: {slowest:?}"
    );
}

#[test]
fn a_change_by_another_process_appears_without_user_action() {
    let s = util::scratch();
    dune_library(&s.path);
    let mut h = app(&s.path);
    open_collection(&mut h, "Rare Books");
    let out = Command::new(EXE)
        .arg("--db")
        .arg(&s.path)
        .args(["add", "--collection", "Rare Books", "0043"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let added = Instant::now();
    wait_for(&mut h, "the other process's row", |h| {
        h.query_by_label("Remove 0043").is_some()
    });
    println!("shown {:?} after the other process exited", added.elapsed());
    assert!(added.elapsed() < Duration::from_secs(2));
}

#[test]
fn an_editor_window_and_the_main_window_see_each_others_saves() {
    let s = util::scratch();
    dune_library(&s.path);
    let mut h = app(&s.path);
    open_collection(&mut h, "Rare Books");
    h.get_by_label("Open in new window").click();
    let title = "Rare Books — Shelfmark";
    wait_for(&mut h, "the editor window", |h| {
        h.query(By::new().role(egui::accesskit::Role::Window).label(title))
            .is_some()
    });
    {
        let window = h.get(By::new().role(egui::accesskit::Role::Window).label(title));
        window.get_by_label("Scan barcode").focus();
    }
    h.step();
    h.get(By::new().role(egui::accesskit::Role::Window).label(title))
        .get_by_label("Scan barcode")
        .type_text("0043");
    h.step();
    h.key_press(Key::Enter);
    // The row appears in both: the window that saved, and the main window.
    wait_for(&mut h, "the row in both windows", |h| {
        h.query_all_by_label("Remove 0043").count() == 2
    });
    // Closing the window leaves the main window working.
    h.get(By::new().role(egui::accesskit::Role::Window).label(title))
        .get_by_label("Close window")
        .click();
    wait_for(&mut h, "the window to close", |h| {
        h.query(By::new().role(egui::accesskit::Role::Window).label(title))
            .is_none()
    });
    scan(&mut h, "0042");
    wait_for(&mut h, "the main window's save", |h| {
        h.query_by_label("Remove 0042").is_some()
    });
}

/// Points the open file chooser at `folder` (typed, like a user would).
/// Opens **Import…**, picks `name` in `folder` and presses **Import**.
pub fn import_file(h: &mut App, folder: &Path, name: &str) {
    h.get_by_label("Import…").click();
    wait_for_text(h, "Import a file (MARC 21 or a spreadsheet)");
    choose_folder(h, folder);
    wait_for(h, "the folder listing", |h| {
        h.query_by_label(name).is_some()
    });
    h.get_by_label(name).click();
    h.step();
    h.get_by_label("Import").click();
}

pub fn choose_folder(h: &mut App, folder: &Path) {
    h.get_by_label("Folder").focus();
    h.step();
    h.key_press_modifiers(Modifiers::COMMAND, Key::A);
    h.step();
    h.get_by_label("Folder")
        .type_text(&folder.display().to_string());
    h.step();
    h.key_press(Key::Enter);
    h.step();
}

/// A first import big enough to build some indexes at its end says so once every row is in
/// (instead of a full bar whose rate falls while nothing seems to happen), without a Cancel
/// that could no longer stop it, and then says what it did.
#[test]
fn a_big_import_says_when_it_is_building_its_indexes() {
    use std::fmt::Write as _;
    let s = util::scratch();
    drop(util::open(&s.path));
    let mut csv = String::from("title,authors,barcode,collection,shelf_mark\n");
    for i in 0..60_000 {
        let _ = writeln!(csv, "Book {i},Someone,B{i:06},Main Stacks,QA76.{i}");
    }
    std::fs::write(s.dir.path().join("big.csv"), csv).unwrap();
    let mut h = app(&s.path);
    wait_for_text(&mut h, "This library is empty");
    import_file(&mut h, s.dir.path(), "big.csv");
    let finishing = "all 60,000 rows are in; building the indexes and saving";
    let (mut saw_bar, mut saw_finishing) = (false, false);
    // Its own deadline: 60 000 rows through a debug build take a while.
    let deadline = Instant::now() + Duration::from_mins(2);
    while !shows(&h, "Imported 60,000 rows") {
        h.step();
        saw_bar |= shows(&h, "of 60,000 rows");
        if shows(&h, finishing) {
            saw_finishing = true;
            assert!(
                h.query_by_label("Cancel import").is_none(),
                "a Cancel that can no longer cancel is not offered"
            );
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for the import; on screen:\n{}",
            screen_text(&h)
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(saw_bar, "the rows were counted with a bar first");
    assert!(saw_finishing, "the end of the import was named");
    let conn = Client::new(&s.path).conn();
    assert_eq!(util::live(&conn, "placements"), 60_000);
    // A big collection's count is read at a glance: its thousands are grouped.
    wait_for_text(&mut h, "Main Stacks  (60,000)");
}

#[test]
fn import_through_the_file_chooser_shows_results_and_bad_lines() {
    let s = util::scratch();
    drop(util::open(&s.path));
    let good = s.dir.path().join("books.csv");
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/assets/sample-library.csv"),
        &good,
    )
    .unwrap();
    std::fs::write(
        s.dir.path().join("mixed.csv"),
        "title,year,isbn\nFine,1999,\nBad year,19x5,\nBad ISBN,,978-0-441-17271-8\n",
    )
    .unwrap();
    let mut h = app(&s.path);
    wait_for_text(&mut h, "This library is empty");

    import_file(&mut h, s.dir.path(), "books.csv");
    wait_for_text(&mut h, "Imported 25 rows");
    wait_for_text(&mut h, "Rare Books  (3)");

    // A file with bad lines: every one is listed, and nothing is imported unless asked.
    import_file(&mut h, s.dir.path(), "mixed.csv");
    wait_for_text(&mut h, "Some lines cannot be imported");
    assert!(shows(&h, "Year: '19x5' is not a year"));
    assert!(shows(&h, "ISBN: the check digit does not match"));
    h.get_by_label("Import nothing").click();
    wait_for_text(&mut h, "Import cancelled; nothing was added.");
    let conn = Client::new(&s.path).conn();
    assert_eq!(util::live(&conn, "books"), 20);
}
