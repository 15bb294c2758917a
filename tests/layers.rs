//! The layers only point down (README, Architecture): this reads `src/` and fails on a module
//! that names one above it, on egui below `ui`, on a database crate above `db`, and on clap
//! outside the command line.

use std::path::{Path, PathBuf};

/// The layers, bottom first. `app` and `cli` share the top and do not use each other.
const LAYERS: &[(&str, u8)] = &[
    ("model", 0),
    ("db", 1),
    ("tasks", 2),
    ("transfer", 3),
    ("ui", 4),
    ("app", 5),
    ("cli", 5),
];

/// Crates a layer may name only from a given rank up (or only in one module).
const CRATES: &[(&str, Rule)] = &[
    ("egui", Rule::FromRank(4)),
    ("eframe", Rule::FromRank(4)),
    ("egui_extras", Rule::FromRank(4)),
    ("rusqlite", Rule::Only("db")),
    ("r2d2", Rule::Only("db")),
    ("r2d2_sqlite", Rule::Only("db")),
    ("clap", Rule::Only("cli")),
];

#[derive(Clone, Copy)]
enum Rule {
    FromRank(u8),
    Only(&'static str),
}

fn rank(module: &str) -> Option<u8> {
    LAYERS.iter().find(|(m, _)| *m == module).map(|(_, r)| *r)
}

/// The module path of a file under `src/` ("ui/editor/table.rs" -> [ui, editor, table]).
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

/// Code without its comment lines (doc comments may name anything), a `use` statement that
/// spans lines joined into one.
fn code_lines(text: &str) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    let mut open_use = false;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("//") {
            continue;
        }
        if open_use && let Some(last) = out.last_mut() {
            last.1.push(' ');
            last.1.push_str(trimmed);
        } else {
            out.push((i + 1, line.to_owned()));
        }
        let is_use = trimmed.starts_with("use ") || trimmed.contains(" use ");
        open_use = (open_use || is_use) && !trimmed.trim_end().ends_with(';');
    }
    out
}

/// The top-level names of a `{…}` group that starts `text` ("{ui::X, db::{A, B}}" -> ui, db).
fn group_heads(text: &str) -> Vec<String> {
    let mut heads = Vec::new();
    let mut depth = 0;
    let mut at_start = true;
    let mut word = String::new();
    for c in text.chars() {
        match c {
            '{' => {
                depth += 1;
                at_start = depth == 1;
            }
            '}' => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            ',' if depth == 1 => at_start = true,
            c if at_start && depth == 1 && (c.is_alphanumeric() || c == '_') => word.push(c),
            _ => {
                if !word.is_empty() {
                    heads.push(std::mem::take(&mut word));
                }
                if !c.is_whitespace() {
                    at_start = false;
                }
            }
        }
    }
    heads
}

/// Every top-level module `line` refers to, through `crate::` or a chain of `super::`.
fn referenced(line: &str, path: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = line;
    while let Some(i) = rest.find("crate::") {
        let after = &rest[i + "crate::".len()..];
        let word: String = after
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let before = rest[..i].chars().last();
        // Skip identifiers that merely end in "crate".
        if !before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            if word.is_empty() && after.starts_with('{') {
                found.extend(group_heads(after));
            } else if !word.is_empty() {
                found.push(word);
            }
        }
        rest = after;
    }
    let mut rest = line;
    while let Some(i) = rest.find("super::") {
        let mut supers = 0;
        let mut after = &rest[i..];
        while let Some(a) = after.strip_prefix("super::") {
            supers += 1;
            after = a;
        }
        // A file's `super` is its parent module; a mod.rs's is the module above it.
        if supers >= path.len() {
            let word: String = after
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !word.is_empty() {
                found.push(word);
            }
        }
        rest = after;
    }
    found
}

/// Whether `line` names the crate `name` in code (`name::`, `use name`).
fn names_crate(line: &str, name: &str) -> bool {
    let bytes = line.as_bytes();
    let mut from = 0;
    while let Some(i) = line[from..].find(name) {
        let start = from + i;
        let end = start + name.len();
        let before_ok = start == 0
            || !(bytes[start - 1].is_ascii_alphanumeric()
                || bytes[start - 1] == b'_'
                || bytes[start - 1] == b':');
        let after = &line[end..];
        if before_ok
            && (after.starts_with("::")
                || (line.trim_start().starts_with("use ")
                    && (after.starts_with(';') || after.starts_with(" as"))))
        {
            return true;
        }
        from = end;
    }
    false
}

/// The upward references in `files` (path relative to `src/`, contents), in words.
fn violations(files: &[(PathBuf, String)]) -> Vec<String> {
    let mut out = Vec::new();
    for (rel, text) in files {
        let path = module_path(rel);
        let Some(top) = path.first() else { continue };
        let Some(own) = rank(top) else { continue }; // lib.rs, main.rs, bin/
        for (n, line) in code_lines(text) {
            let line = line.as_str();
            for target in referenced(line, &path) {
                let Some(theirs) = rank(&target) else {
                    continue;
                };
                if target != *top && theirs >= own {
                    out.push(format!(
                        "{}:{n}: {top} (layer {own}) uses {target} (layer {theirs}): {}",
                        rel.display(),
                        line.trim()
                    ));
                }
            }
            for (name, rule) in CRATES {
                if !names_crate(line, name) {
                    continue;
                }
                let allowed = match rule {
                    Rule::FromRank(r) => own >= *r,
                    Rule::Only(m) => top == m,
                };
                if !allowed {
                    out.push(format!(
                        "{}:{n}: {top} names the crate {name}: {}",
                        rel.display(),
                        line.trim()
                    ));
                }
            }
        }
    }
    out
}

fn sources(dir: &Path, root: &Path, out: &mut Vec<(PathBuf, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, root, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path.strip_prefix(root).unwrap().to_path_buf();
            out.push((rel, std::fs::read_to_string(&path).unwrap()));
        }
    }
}

#[test]
fn every_module_uses_only_the_layers_below_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root, &root, &mut files);
    assert!(files.len() > 30, "read {} files", files.len());
    let found = violations(&files);
    assert!(found.is_empty(), "upward references:\n{}", found.join("\n"));
}

#[test]
fn the_checker_sees_upward_references() {
    let check = |path: &str, text: &str| violations(&[(PathBuf::from(path), text.to_owned())]);
    // Each case: (file, code, how many violations).
    let cases: &[(&str, &str, usize)] = &[
        ("db/read.rs", "use crate::model::Book;", 0),
        ("db/read.rs", "use crate::ui::widgets::UiExt;", 1),
        ("model/mod.rs", "let x = crate::tasks::Port::new();", 1),
        (
            "ui/editor/table.rs",
            "use super::super::super::app::Workspace;",
            1,
        ),
        ("ui/editor/table.rs", "use super::pages::Pages;", 0),
        ("ui/editor/mod.rs", "use super::super::db::Reads;", 0),
        ("tasks/feed.rs", "use egui::Context;", 1),
        (
            "tasks/feed.rs",
            "// egui::Context is named only in a comment",
            0,
        ),
        ("ui/live.rs", "fn f(c: &rusqlite::Connection) {}", 1),
        ("db/sqlite/read.rs", "fn f(c: &rusqlite::Connection) {}", 0),
        ("app/mod.rs", "use crate::cli::Args;", 1),
        ("cli/mod.rs", "use crate::app::run;", 1),
        ("db/mod.rs", "#[derive(clap::ValueEnum)]", 1),
        ("cli/mod.rs", "#[derive(clap::ValueEnum)]", 0),
        ("lib.rs", "pub use app::ShelfmarkApp;", 0),
        ("db/read.rs", "use crate::{model::Book, ui::X};", 1),
        (
            "db/read.rs",
            "use crate::{\n    model::{Book, Copy},\n    tasks::Port,\n};",
            1,
        ),
        ("tasks/feed.rs", "use crate::{db::Library, model::Op};", 0),
    ];
    for (path, code, expected) in cases {
        assert_eq!(check(path, code).len(), *expected, "{path}: {code}");
    }
}
