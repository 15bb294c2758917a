//! The scanner desk, as a librarian meets it: a USB scanner types a barcode and Enter at 1–5 ms
//! a key, faster than frames; every keystroke must land, and a scan must never press a button.

use egui::{Event, Key, Modifiers};
use egui_kittest::kittest::Queryable;

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
fn scanner_events(codes: &[String]) -> Vec<Event> {
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
fn feed(h: &mut App, events: Vec<Event>, frame_sizes: &[usize]) {
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
    wait_for(&mut h, "the rows", |h| {
        h.query_by_label("Remove S003").is_some()
    });
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
