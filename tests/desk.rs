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
