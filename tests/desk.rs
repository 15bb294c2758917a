//! The scanner desk, as a librarian meets it: a USB scanner types a barcode and Enter at 1–5 ms
//! a key, faster than frames; every keystroke must land, and a scan must never press a button.

use egui::{Event, Key, Modifiers};
use egui_kittest::kittest::{NodeT, Queryable};

use crate::ui::{App, app, open_collection, screen_text, shows, wait_for};
use crate::util::{self, Client};

/// A library with one book, copies `S001`..`S0nn`, and the collections "Desk" and "Other".
fn desk_library(path: &std::path::Path, copies: usize) -> Vec<String> {
    let c = Client::new(path);
    let book = c.book("The Scanner's Companion");
    let codes: Vec<String> = (1..=copies).map(|i| format!("S{i:03}")).collect();
    for code in &codes {
        c.copy(book, code);
    }
    c.collection("Desk");
    c.collection("Other");
    codes
}

/// What a scanner sends for each barcode: one text event per character, then Enter.
pub fn scanner_events(codes: &[String]) -> Vec<Event> {
    let key = |pressed| Event::Key {
        key: Key::Enter,
        physical_key: None,
        pressed,
        repeat: false,
        modifiers: Modifiers::NONE,
    };
    let mut events = Vec::new();
    for code in codes {
        events.extend(code.chars().map(|c| Event::Text(c.to_string())));
        events.push(key(true));
        events.push(key(false));
    }
    events
}

/// The barcodes placed in "Desk", in the order they were saved.
fn placed(path: &std::path::Path) -> Vec<String> {
    let conn = Client::new(path).conn();
    let mut stmt = conn
        .prepare(
            "SELECT c.barcode FROM placements p JOIN copies c ON c.id = p.copy_id
             JOIN collections k ON k.id = p.collection_id
             WHERE k.name = 'Desk' AND p.deleted_at IS NULL ORDER BY p.id",
        )
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Feeds `events` to the app in frames of the given sizes (cycled), without any pause.
pub fn feed(h: &mut App, events: Vec<Event>, frame_sizes: &[usize]) {
    let mut rest = events.into_iter().peekable();
    let mut sizes = frame_sizes.iter().cycle();
    while rest.peek().is_some() {
        let n = *sizes.next().unwrap();
        h.input_mut().events.extend(rest.by_ref().take(n.max(1)));
        h.step();
    }
}

fn scans_land_intact(frame_sizes: &[usize]) {
    let s = util::scratch();
    let codes = desk_library(&s.path, 20);
    let mut h = app(&s.path);
    open_collection(&mut h, "Desk");
    h.get_by_label("Scan barcode").focus();
    h.step();
    feed(&mut h, scanner_events(&codes), frame_sizes);
    wait_for(&mut h, "20 placements", |_| placed(&s.path).len() >= 20);
    h.run_ok();
    assert_eq!(
        placed(&s.path),
        codes,
        "frames of {frame_sizes:?}; on screen:\n{}",
        screen_text(&h)
    );
    assert!(!shows(&h, "No copy has barcode"), "{}", screen_text(&h));
}

#[test]
fn twenty_scans_in_one_frame_all_land_in_order() {
    scans_land_intact(&[usize::MAX]);
}

#[test]
fn twenty_scans_split_across_frames_anywhere_all_land_in_order() {
    // A frame boundary after every event, inside barcodes, between a code and its Enter, and
    // between Enter's press and release.
    for sizes in [&[1][..], &[2], &[3, 1], &[5, 7], &[6, 1, 11]] {
        scans_land_intact(sizes);
    }
}

/// Sends one scan the way a scanner does, in a single frame.
fn scan_burst(h: &mut App, code: &str) {
    feed(h, scanner_events(&[code.to_owned()]), &[usize::MAX]);
}

fn live_in_desk(path: &std::path::Path, code: &str) -> bool {
    placed(path).iter().any(|c| c == code)
}

/// Waits until the table shows a row for each of `codes`. The count and the pages are separate
/// reads, so for a frame the newest page can be cut to the count read before it.
fn wait_rows(h: &mut App, codes: &[&str]) {
    wait_for(h, &format!("rows {codes:?}"), |h| {
        codes
            .iter()
            .all(|c| h.query_by_label(&format!("Remove {c}")).is_some())
    });
}

/// Waits for `code` to be placed in "Desk".
fn wait_placed(h: &mut App, path: &std::path::Path, code: &str) {
    wait_for(h, &format!("{code} to be placed"), |_| {
        live_in_desk(path, code)
    });
}

#[test]
fn a_scan_after_a_keyboard_remove_presses_no_button_and_each_removal_keeps_its_undo() {
    let s = util::scratch();
    desk_library(&s.path, 12);
    let mut h = app(&s.path);
    open_collection(&mut h, "Desk");
    for code in ["S001", "S002", "S003"] {
        scan_burst(&mut h, code);
        wait_placed(&mut h, &s.path, code);
    }
    wait_rows(&mut h, &["S001", "S002", "S003"]);
    // The librarian tabs to a Remove button and presses Enter: a deliberate removal.
    h.get_by_label("Remove S002").focus();
    h.step();
    h.key_press(Key::Enter);
    wait_for(&mut h, "the removal", |_| !live_in_desk(&s.path, "S002"));
    wait_for(&mut h, "the row to go", |h| {
        h.query_by_label("Remove S002").is_none()
    });
    // The next scan's Enter presses nothing: its digits and its Enter are the scan's.
    scan_burst(&mut h, "S010");
    wait_placed(&mut h, &s.path, "S010");
    h.run_ok();
    for code in ["S001", "S003", "S010"] {
        assert!(live_in_desk(&s.path, code), "{code} is still placed");
    }
    assert!(
        h.get_by_label("Scan barcode").is_focused(),
        "back in the scan field"
    );
    // A second removal: both can be undone, the latest first, then the one before it.
    h.get_by_label("Remove S003").click();
    wait_for(&mut h, "the second removal", |_| {
        !live_in_desk(&s.path, "S003")
    });
    wait_for(&mut h, "the undo bar", |h| {
        shows(h, "Removed copy S003") && shows(h, "and 1 removal before it")
    });
    h.get_by_label("Undo").click();
    wait_placed(&mut h, &s.path, "S003");
    assert!(!live_in_desk(&s.path, "S002"), "one at a time");
    wait_for(&mut h, "the earlier removal on offer", |h| {
        shows(h, "Removed copy S002")
    });
    h.get_by_label("Undo").click();
    wait_placed(&mut h, &s.path, "S002");
}

#[test]
fn after_show_create_copy_and_its_dialog_the_next_scan_lands() {
    let s = util::scratch();
    desk_library(&s.path, 12);
    let mut h = app(&s.path);
    open_collection(&mut h, "Desk");
    scan_burst(&mut h, "S001");
    wait_placed(&mut h, &s.path, "S001");
    // A conflict, then Show.
    scan_burst(&mut h, "S001");
    wait_for(&mut h, "the conflict", |h| {
        h.query_by_label("Show").is_some()
    });
    h.get_by_label("Show").click();
    h.step();
    scan_burst(&mut h, "S002");
    wait_placed(&mut h, &s.path, "S002");
    // An unknown barcode; opening "Create copy…" and closing it again.
    scan_burst(&mut h, "NEW1");
    wait_for(&mut h, "the offer", |h| {
        h.query_by_label("Create copy…").is_some()
    });
    h.get_by_label("Create copy…").click();
    wait_for(&mut h, "the form", |h| {
        h.query_by_label("Book title").is_some()
    });
    h.get_by_label("Cancel").click();
    h.step();
    scan_burst(&mut h, "S003");
    wait_placed(&mut h, &s.path, "S003");
    // Creating the copy and adding it.
    h.get_by_label("Create copy…").click();
    wait_for(&mut h, "the form", |h| {
        h.query_by_label("Book title").is_some()
    });
    h.get_by_label("Book title").focus();
    h.step();
    h.get_by_label("Book title").type_text("A New Book");
    h.step();
    h.get_by_label("Create book, copy and add").click();
    wait_placed(&mut h, &s.path, "NEW1");
    h.step();
    scan_burst(&mut h, "S004");
    wait_placed(&mut h, &s.path, "S004");
}

#[test]
fn keys_with_no_field_focused_go_to_the_scan_field_and_another_field_keeps_its_own() {
    let s = util::scratch();
    desk_library(&s.path, 12);
    let mut h = app(&s.path);
    open_collection(&mut h, "Desk");
    // Nothing has the focus (a click on an empty part of the window).
    h.ctx.memory_mut(|m| {
        if let Some(id) = m.focused() {
            m.surrender_focus(id);
        }
    });
    h.step();
    scan_burst(&mut h, "S005");
    wait_placed(&mut h, &s.path, "S005");
    h.run_ok();
    assert!(
        h.get_by_label("Scan barcode").is_focused(),
        "the scan field took the focus"
    );
    // Typing into the filter stays in the filter, and the editor says scanning is paused.
    h.get_by_label("Filter").focus();
    h.step();
    h.get_by_label("Filter").type_text("S00");
    h.step();
    h.step();
    assert_eq!(h.get_by_label("Filter").value().as_deref(), Some("S00"));
    assert!(shows(&h, "Scanning is paused"), "{}", screen_text(&h));
    assert_eq!(h.get_by_label("Scan barcode").value().as_deref(), Some(""));
}

/// Whether the app asked its main window to close (is quitting).
fn main_window_closing(h: &App) -> bool {
    h.state().is_closing()
}

#[test]
fn ctrl_w_closes_only_an_editor_window_and_ctrl_q_quits() {
    let s = util::scratch();
    desk_library(&s.path, 2);
    let mut h = app(&s.path);
    open_collection(&mut h, "Desk");
    // In the main window Ctrl+W has nothing to close.
    h.key_press_modifiers(Modifiers::COMMAND, Key::W);
    h.step();
    assert!(
        !main_window_closing(&h),
        "Ctrl+W in the main window quit the app"
    );
    h.step();
    assert!(!main_window_closing(&h));
    // In an editor window it closes that window, and only it.
    h.get_by_label("Open in new window").click();
    let title = "Desk — Shelfmark";
    let window = |h: &App| {
        h.query(
            egui_kittest::kittest::By::new()
                .role(egui::accesskit::Role::Window)
                .label(title),
        )
        .is_some()
    };
    wait_for(&mut h, "the editor window", window);
    h.get(
        egui_kittest::kittest::By::new()
            .role(egui::accesskit::Role::Window)
            .label(title),
    )
    .get_by_label("Scan barcode")
    .focus();
    h.step();
    h.key_press_modifiers(Modifiers::COMMAND, Key::W);
    wait_for(&mut h, "the window to close", |h| !window(h));
    assert!(!main_window_closing(&h));
    assert!(
        h.query_by_label("Scan barcode").is_some(),
        "the main editor is still there"
    );
    // Ctrl+Q quits (nothing is in flight, so at once).
    h.key_press_modifiers(Modifiers::COMMAND, Key::Q);
    let mut closing = false;
    for _ in 0..5 {
        h.step();
        closing |= main_window_closing(&h);
    }
    assert!(closing, "Ctrl+Q asks the main window to close");
}

#[test]
fn ctrl_z_in_a_field_is_the_fields_own_elsewhere_it_takes_the_latest_undo() {
    let s = util::scratch();
    desk_library(&s.path, 4);
    let mut h = app(&s.path);
    open_collection(&mut h, "Desk");
    for code in ["S001", "S002"] {
        scan_burst(&mut h, code);
        wait_placed(&mut h, &s.path, code);
    }
    wait_rows(&mut h, &["S001", "S002"]);
    h.get_by_label("Remove S001").click();
    wait_for(&mut h, "the removal", |_| !live_in_desk(&s.path, "S001"));
    wait_for(&mut h, "the undo bar", |h| shows(h, "Removed copy S001"));
    // In the filter, Ctrl+Z undoes the typing, not the removal.
    h.get_by_label("Filter").focus();
    h.step();
    h.get_by_label("Filter").type_text("zz");
    h.step();
    h.key_press_modifiers(Modifiers::COMMAND, Key::Z);
    h.step();
    h.step();
    assert_eq!(h.get_by_label("Filter").value().as_deref(), Some(""));
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(
        !live_in_desk(&s.path, "S001"),
        "the field's undo restored nothing"
    );
    // Back in the (empty) scan field, Ctrl+Z takes the Undo on offer.
    h.get_by_label("Scan barcode").focus();
    h.step();
    h.key_press_modifiers(Modifiers::COMMAND, Key::Z);
    wait_placed(&mut h, &s.path, "S001");
}

#[test]
fn a_message_lives_as_long_as_what_it_describes() {
    let s = util::scratch();
    desk_library(&s.path, 2);
    let mut h = app(&s.path);
    open_collection(&mut h, "Desk");
    // The side panel: a name that is taken, then changed.
    h.get_by_label("New").click();
    wait_for(&mut h, "the form", |h| h.query_by_label("Name").is_some());
    h.get_by_label("Name").focus();
    h.step();
    h.get_by_label("Name").type_text("desk");
    h.step();
    h.get_by_label("Create").click();
    wait_for(&mut h, "the conflict", |h| {
        shows(h, "There is already a collection named Desk")
    });
    h.get_by_label("Name").focus();
    h.step();
    h.get_by_label("Name").type_text(" room");
    h.step();
    h.step();
    assert!(
        !shows(&h, "There is already a collection named Desk"),
        "the message went with the name it was about"
    );
    h.get_by_label("Cancel").click();
    h.step();
    // The Trash: a restore that worked, then one that fails; no stale "Restored".
    let c = Client::new(&s.path);
    let other = c.collection("Spare");
    let (id, version) = match c.save(shelfmark::model::Op::Delete {
        target: other.into(),
        version: 1,
    }) {
        shelfmark::model::Outcome::Saved { version, .. } => (other, version),
        o => panic!("{o:?}"),
    };
    h.get_by_label("Trash").click();
    wait_for(&mut h, "the Trash", |h| shows(h, "Collection “Spare”"));
    h.get_by_label("Restore").click();
    wait_for(&mut h, "the notice", |h| {
        shows(h, "Restored collection “Spare”")
    });
    // The restored collection leaves the Trash's list first: pressing a Restore of the list as it
    // was would restore an old version, and be told so, not the conflict below.
    wait_for(&mut h, "Spare gone from the Trash", |h| {
        !shows(h, "Collection “Spare”")
    });
    // Away again, and "Spare" taken meanwhile by another collection: the restore conflicts.
    let _ = c.save(shelfmark::model::Op::Delete {
        target: id.into(),
        version: version + 1,
    });
    c.collection("spare");
    wait_for(&mut h, "Spare back in the Trash", |h| {
        shows(h, "Collection “Spare”") && h.query_by_label("Restore").is_some()
    });
    h.get_by_label("Restore").click();
    wait_for(&mut h, "the refusal", |h| shows(h, "Cannot restore:"));
    assert!(!shows(&h, "Restored collection"), "{}", screen_text(&h));
}

#[test]
fn only_the_view_on_show_looks_chosen_and_whole_cells_are_clickable() {
    let s = util::scratch();
    desk_library(&s.path, 2);
    let mut h = app(&s.path);
    open_collection(&mut h, "Desk");
    scan_burst(&mut h, "S001");
    wait_placed(&mut h, &s.path, "S001");
    wait_for(&mut h, "the row", |h| {
        h.query_by_label("Remove S001").is_some()
    });
    // The shelf-mark cell is as wide as its column, not only its "—".
    let cell = h.get_by_label("Edit shelf mark of S001");
    let rect = cell.rect();
    assert!(rect.width() > 60.0, "{rect:?}");
    let chosen = |h: &App, label: &str| {
        h.get_by_label_contains(label)
            .accesskit_node()
            .data()
            .toggled()
            == Some(egui::accesskit::Toggled::True)
    };
    assert!(chosen(&h, "Desk  ("));
    h.get_by_label("Catalog").click();
    h.step();
    h.step();
    assert!(!chosen(&h, "Desk  ("), "one choice on show");
}

#[test]
fn a_stop_asked_by_the_system_waits_for_saves_at_most_five_seconds() {
    let s = util::scratch();
    desk_library(&s.path, 2);
    // Nothing in flight: the app quits at once.
    let mut h = app(&s.path);
    open_collection(&mut h, "Desk");
    h.state()
        .commands()
        .send(shelfmark::ui::command::AppCommand::Terminate);
    h.step();
    h.step();
    assert!(
        main_window_closing(&h),
        "quits at once with nothing to write"
    );
    drop(h);
    // A save waiting for another program's lock: the app waits for it, then gives up.
    let mut h = app(&s.path);
    open_collection(&mut h, "Desk");
    let (locked_tx, locked_rx) = std::sync::mpsc::channel();
    let path = s.path.clone();
    let holder = std::thread::spawn(move || {
        let conn = rusqlite::Connection::open(path).unwrap();
        conn.execute_batch("BEGIN IMMEDIATE").unwrap();
        locked_tx.send(()).unwrap();
        std::thread::sleep(std::time::Duration::from_secs(9));
        conn.execute_batch("ROLLBACK").unwrap();
    });
    locked_rx.recv().unwrap();
    scan_burst(&mut h, "S001");
    h.state()
        .commands()
        .send(shelfmark::ui::command::AppCommand::Terminate);
    let asked = std::time::Instant::now();
    wait_for(&mut h, "the quitting note", |h| shows(h, "Asked to stop"));
    assert!(!main_window_closing(&h), "waits for the save");
    wait_for(&mut h, "the app to give up waiting", main_window_closing);
    let waited = asked.elapsed();
    assert!(
        waited >= std::time::Duration::from_millis(4500)
            && waited < std::time::Duration::from_secs(8),
        "{waited:?}"
    );
    drop(h);
    holder.join().unwrap();
}

#[test]
fn a_second_instance_opens_the_main_window_only_and_remembers_nothing() {
    let s = util::scratch();
    desk_library(&s.path, 1);
    let data = s.dir.path().join("data");
    let start = |data: std::path::PathBuf, path: std::path::PathBuf| {
        egui_kittest::Harness::builder()
            .with_size(egui::vec2(1000.0, 700.0))
            .build_eframe(move |cc| {
                shelfmark::ShelfmarkApp::new(
                    cc,
                    shelfmark::Startup::At(shelfmark::db::Location::File(path), None),
                    shelfmark::AppOptions {
                        data_dir: Some(data),
                        ..shelfmark::AppOptions::default()
                    },
                )
            })
    };
    let first = start(data.clone(), s.path.clone());
    let second = start(data.clone(), s.path.clone());
    assert!(!first.state().is_second_instance());
    assert!(second.state().is_second_instance());
    drop((first, second));
    let third = start(data, s.path.clone());
    assert!(
        !third.state().is_second_instance(),
        "the lock goes with the first"
    );
}
