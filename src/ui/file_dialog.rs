//! A file chooser drawn by egui itself, so it works everywhere (no desktop portal needed, fully
//! offline) and tests can drive it. Folders are listed on a background thread.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use egui::RichText;

use super::widgets::UiExt;
use crate::tasks::{Pending, Waker, run_once};

/// Open an existing file, or name a new one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Open,
    Save,
}

/// What the chooser answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Choice {
    Picked(PathBuf),
    Cancelled,
}

#[derive(Clone, Debug)]
struct Entry {
    name: String,
    is_dir: bool,
}

/// A file chooser in a modal window.
pub struct FileDialog {
    title: String,
    action: String,
    mode: Mode,
    extension: &'static str,
    folder: PathBuf,
    folder_text: String,
    name: String,
    entries: Vec<Entry>,
    listing: Option<Pending<std::io::Result<Vec<Entry>>>>,
    error: Option<String>,
    /// Repaints the window when a listing arrives.
    waker: Waker,
    /// A choice that goes with the file (a checkbox), if the caller offers one.
    option: Option<(&'static str, bool)>,
}

impl std::fmt::Debug for FileDialog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileDialog")
            .field("title", &self.title)
            .field("folder", &self.folder)
            .finish_non_exhaustive()
    }
}

fn list(
    folder: PathBuf,
    extension: &'static str,
    waker: &Waker,
) -> Pending<std::io::Result<Vec<Entry>>> {
    run_once(
        "shelfmark-list-folder",
        Some(Arc::clone(waker)),
        move || {
            std::fs::read_dir(&folder).map(|dir| {
                let mut entries: Vec<Entry> = dir
                    .filter_map(Result::ok)
                    .filter_map(|e| {
                        let name = e.file_name().to_string_lossy().into_owned();
                        let is_dir = e.file_type().ok()?.is_dir()
                            || e.path().metadata().is_ok_and(|m| m.is_dir());
                        let shown = !name.starts_with('.')
                            && (is_dir
                                || Path::new(&name).extension().is_some_and(|x| {
                                    extension.split(',').any(|e| x.eq_ignore_ascii_case(e))
                                }));
                        shown.then_some(Entry { name, is_dir })
                    })
                    .collect();
                entries.sort_by(|a, b| {
                    b.is_dir
                        .cmp(&a.is_dir)
                        .then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase()))
                });
                entries
            })
        },
        Err,
    )
}

impl FileDialog {
    /// A chooser starting in `folder`, showing folders and files ending in `.extension` (one
    /// of several, if given as "csv,tsv").
    pub fn new(
        title: &str,
        action: &str,
        mode: Mode,
        extension: &'static str,
        folder: PathBuf,
        name: &str,
        waker: Waker,
    ) -> Self {
        FileDialog {
            title: title.to_owned(),
            action: action.to_owned(),
            mode,
            extension,
            folder_text: folder.display().to_string(),
            listing: Some(list(folder.clone(), extension, &waker)),
            folder,
            name: name.to_owned(),
            entries: Vec::new(),
            error: None,
            waker,
            option: None,
        }
    }

    /// Offers a choice with the file, as a checkbox (say, "for Excel").
    #[must_use]
    pub fn with_option(mut self, label: &'static str, checked: bool) -> Self {
        self.option = Some((label, checked));
        self
    }

    /// Whether the offered choice is checked.
    pub fn option_checked(&self) -> bool {
        self.option.is_some_and(|(_, c)| c)
    }

    /// Lists `folder`. The previous folder's entries go at once: they name files that are not
    /// in the new folder, and a list that changes under the pointer takes the wrong click.
    fn go(&mut self, folder: PathBuf) {
        self.folder_text = folder.display().to_string();
        self.listing = Some(list(folder.clone(), self.extension, &self.waker));
        self.entries.clear();
        self.folder = folder;
        self.error = None;
    }

    fn chosen(&self) -> Option<PathBuf> {
        let name = self.name.trim();
        if name.is_empty() {
            return None;
        }
        let path = Path::new(name);
        Some(if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.folder.join(name)
        })
    }

    /// Draws the chooser; returns the answer once the user gave one.
    pub fn show(&mut self, ctx: &egui::Context) -> Option<Choice> {
        if let Some(rx) = &self.listing
            && let Some(result) = rx.poll()
        {
            self.listing = None;
            match result {
                Ok(entries) => self.entries = entries,
                Err(e) => {
                    self.entries.clear();
                    self.error = Some(format!("Cannot list {}: {e}", self.folder.display()));
                }
            }
        }
        let mut answer = None;
        let modal =
            egui::Modal::new(egui::Id::unique(("file-dialog", &self.title))).show(ctx, |ui| {
                ui.set_width(560.0);
                ui.heading(&self.title);
                ui.horizontal(|ui| {
                    if ui.button("Up").on_hover_text("The folder above").clicked()
                        && let Some(parent) = self.folder.parent()
                    {
                        self.go(parent.to_path_buf());
                    }
                    let l = ui.label("Folder");
                    let r = ui
                        .add(egui::TextEdit::singleline(&mut self.folder_text).desired_width(420.0))
                        .labelled_by(l.id);
                    if r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
                        let folder = PathBuf::from(self.folder_text.trim());
                        self.go(folder);
                    }
                });
                if let Some(e) = &self.error {
                    ui.error_label(e);
                }
                // A fixed height, so the dialog does not move when the listing arrives.
                egui::ScrollArea::vertical()
                    .max_height(260.0)
                    .min_scrolled_height(260.0)
                    .auto_shrink([false, false])
                    .show(ui, |ui| {
                        if self.listing.is_some() && self.entries.is_empty() {
                            ui.pending_label("Listing…");
                        }
                        let mut go = None;
                        for e in &self.entries {
                            let text = if e.is_dir {
                                RichText::new(format!("{}/", e.name)).strong()
                            } else {
                                RichText::new(&e.name)
                            };
                            let selected = !e.is_dir && self.name == e.name;
                            let r = ui.selectable_label(selected, text);
                            if r.clicked() {
                                if e.is_dir {
                                    go = Some(self.folder.join(&e.name));
                                } else {
                                    self.name.clone_from(&e.name);
                                }
                            }
                            if r.double_clicked() && !e.is_dir {
                                answer = self.chosen().map(Choice::Picked);
                            }
                        }
                        if go.is_none() && self.entries.is_empty() && self.listing.is_none() {
                            ui.weak(format!("No folders or .{} files here.", self.extension));
                        }
                        if let Some(folder) = go {
                            self.go(folder);
                        }
                    });
                ui.horizontal(|ui| {
                    let l = ui.label("File name");
                    ui.add(egui::TextEdit::singleline(&mut self.name).desired_width(420.0))
                        .labelled_by(l.id);
                });
                if let Some((label, checked)) = &mut self.option {
                    ui.checkbox(checked, *label);
                }
                ui.horizontal(|ui| {
                    let ok = match self.chosen() {
                        None => false,
                        Some(p) => self.mode == Mode::Save || p.is_file(),
                    };
                    if ui
                        .add_enabled(ok, egui::Button::new(&self.action))
                        .clicked()
                    {
                        answer = self.chosen().map(Choice::Picked);
                    }
                    if ui.button("Cancel").clicked() {
                        answer = Some(Choice::Cancelled);
                    }
                });
            });
        if modal.should_close() && answer.is_none() {
            answer = Some(Choice::Cancelled);
        }
        answer
    }
}

/// Where choosers start: the user's home folder (or the current one).
pub fn start_folder() -> PathBuf {
    directories::UserDirs::new()
        .map(|u| u.home_dir().to_path_buf())
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_else(|| PathBuf::from("/"))
}
