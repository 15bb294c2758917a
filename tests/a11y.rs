//! The accessibility tree as a screen reader (Orca, over AT-SPI) walks it: every window's root
//! carries its title, and every node a user can focus has a name. Each view of the real app is
//! opened and its whole tree walked.

use egui::accesskit::{Action, Role};
use egui_kittest::kittest::{AccessKitNode, NodeT, Queryable};

use crate::ui::{App, app, dune_library, open_collection, scan, wait_for, wait_for_text};
use crate::util;

/// Every focusable node without a name, described with its role and nearest named ancestor.
fn unnamed_focusable(h: &App) -> Vec<String> {
    h.root()
        .children_recursive()
        .map(|n| n.accesskit_node())
        .filter(|n| !n.is_hidden() && n.data().supports_action(Action::Focus))
        .filter(|n| n.label().is_none_or(|l| l.trim().is_empty()))
        .filter(|n| n.value().is_none_or(|v| v.trim().is_empty()) || n.role() != Role::Label)
        .map(|n| {
            let ancestor = std::iter::successors(n.parent(), AccessKitNode::parent)
                .find_map(|p| p.label())
                .unwrap_or_default();
            format!("{:?} at {:?} inside {ancestor:?}", n.role(), n.raw_bounds())
        })
        .collect()
}

/// Walks the whole tree of what is on screen now.
fn assert_named(h: &mut App, view: &str) {
    h.run_ok();
    let root = h.root().accesskit_node();
    assert_eq!(
        root.label().as_deref(),
        Some("Shelfmark"),
        "{view}: the window is named"
    );
    let unnamed = unnamed_focusable(h);
    assert!(
        unnamed.is_empty(),
        "{view}: {} focusable node(s) without a name:\n{}",
        unnamed.len(),
        unnamed.join("\n")
    );
    assert_eq!(h.unnamed_widgets(), Vec::<String>::new(), "{view}: inputs");
}

#[test]
fn every_view_names_every_focusable_node() {
    let s = util::scratch();
    let mut h = app(&s.path);
    wait_for_text(&mut h, "This library is empty");
    assert_named(&mut h, "the welcome screen");

    drop(h);
    dune_library(&s.path);
    let mut h = app(&s.path);
    open_collection(&mut h, "Rare Books");
    scan(&mut h, "0042");
    wait_for(&mut h, "the new row", |h| {
        h.query_by_label("Remove 0042").is_some()
    });
    scan(&mut h, "0099");
    wait_for_text(&mut h, "No copy has barcode 0099.");
    h.get_by_label("Create copy…").click();
    h.step();
    assert_named(&mut h, "the collection editor with a create-copy form");

    h.get_by_label_contains("Edit shelf mark of 0042").click();
    wait_for(&mut h, "the row edit", |h| {
        h.query_by_label("Cancel").is_some()
    });
    assert_named(&mut h, "the collection editor editing a row");

    h.get_by_label("Catalog").click();
    wait_for_text(&mut h, "Dune");
    h.get_by_label("Dune").click();
    wait_for_text(&mut h, "New copy barcode");
    assert_named(&mut h, "the catalog with a book open");

    h.get_by_label("Trash").click();
    wait_for_text(&mut h, "Trash");
    assert_named(&mut h, "the Trash");

    open_collection(&mut h, "Loans");
    h.get_by_label("Open in new window").click();
    wait_for(&mut h, "the editor window", |h| {
        h.query_by_label("Close window").is_some()
    });
    assert_named(&mut h, "an editor window beside the main window");

    h.get_by_label("Import…").click();
    wait_for_text(&mut h, "Import a file (MARC 21 or a spreadsheet)");
    assert_named(&mut h, "the file chooser");
}
