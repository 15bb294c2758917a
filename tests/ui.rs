//! The real app, driven through AccessKit with egui_kittest: click by label, type, read the
//! inline messages. Each test runs on its own temporary library file.

use std::path::Path;
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use shelfmark::ShelfmarkApp;

use crate::util;

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
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Waits until a node whose label contains `text` is on screen.
pub fn wait_for_text(h: &mut App, text: &str) {
    wait_for(h, text, |h| {
        h.query_all_by_label_contains(text).next().is_some()
    });
}

#[test]
fn sample_library_loads_from_the_welcome_screen() {
    let s = util::scratch();
    let mut h = app(&s.path);
    wait_for_text(&mut h, "This library is empty");
    h.get_by_label("Load sample library").click();
    wait_for_text(&mut h, "Classics");
    wait_for_text(&mut h, "Pride and Prejudice");
}
