//! The column-mapping step of an import: for a spreadsheet Shelfmark does not recognise (or one
//! not in UTF-8), the librarian chooses its encoding, its separator and which column is which,
//! with a preview of the first rows as they would be imported and the problems they would give.
//! Nothing is imported until they say so.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use egui::{RichText, Ui};

use super::theme::Tone;
use super::widgets::UiExt;
use crate::transfer::csv::{Parsed, Sheet, SheetChoice};
use crate::transfer::sheets::{Encoding, Field, Mapping, Separator};
use crate::transfer::{SheetDraft, sheet_kind};

/// Rows shown in the preview.
const PREVIEW_ROWS: usize = 5;

/// What the librarian decided.
#[derive(Debug)]
pub enum Decision {
    Import(Box<SheetChoice>),
    Cancel,
}

/// The step's state: the file's bytes, the choices so far, and what they give.
#[derive(Debug)]
pub struct SheetMap {
    pub file: PathBuf,
    bytes: Arc<Vec<u8>>,
    reason: String,
    choice: SheetChoice,
    /// The file as the choices read it, or why it cannot be read so.
    sheet: Result<Sheet, String>,
    preview: Parsed,
}

/// A field's name for the librarian.
fn field_label(f: Field) -> &'static str {
    match f {
        Field::Title => "Title",
        Field::Authors => "Authors",
        Field::Isbn => "ISBN",
        Field::Publisher => "Publisher",
        Field::Year => "Year",
        Field::Barcode => "Barcode",
        Field::Collection => "Collection",
        Field::ShelfMark => "Shelf mark",
        Field::Note => "Note",
    }
}

fn separator_label(s: Separator) -> &'static str {
    match s {
        Separator::Comma => "Comma ( , )",
        Separator::Semicolon => "Semicolon ( ; )",
        Separator::Tab => "Tab",
        Separator::Pipe => "Pipe ( | )",
    }
}

impl SheetMap {
    pub fn new(file: PathBuf, draft: Box<SheetDraft>) -> Self {
        let draft = *draft;
        let mut map = SheetMap {
            file,
            bytes: draft.bytes,
            reason: draft.reason,
            choice: draft.choice,
            sheet: Err(String::new()),
            preview: Parsed::default(),
        };
        map.reread();
        map
    }

    /// Reads the file again with the current choices (and fixes them to what it found, so a
    /// later change of one keeps the others).
    fn reread(&mut self) {
        self.sheet = Sheet::open(&self.bytes, &self.choice).map_err(|e| e.to_string());
        if let Ok(sheet) = &self.sheet {
            self.choice.encoding = Some(sheet.encoding);
            self.choice.separator = Some(sheet.separator);
            self.choice.columns = Some(sheet.mapping.clone());
        }
        self.preview = match &self.sheet {
            Ok(sheet) => sheet.parse_first(PREVIEW_ROWS).unwrap_or_else(|e| Parsed {
                rows: Vec::new(),
                errors: vec![crate::transfer::csv::LineError {
                    line: 1,
                    offset: None,
                    message: e.to_string(),
                    title: String::new(),
                }],
            }),
            Err(_) => Parsed::default(),
        };
    }

    /// The file's bytes (read once, when it was chosen).
    pub fn bytes(&self) -> Arc<Vec<u8>> {
        Arc::clone(&self.bytes)
    }

    fn mapping(&self) -> Option<&Mapping> {
        self.sheet.as_ref().ok().map(|s| &s.mapping)
    }

    /// Draws the step as a modal window; returns the decision once there is one.
    pub fn show(&mut self, ctx: &egui::Context) -> Option<Decision> {
        let mut decision = None;
        let mut changed = false;
        let modal = egui::Modal::new(egui::Id::unique("import-columns")).show(ctx, |ui| {
            ui.set_width(720.0);
            ui.heading("Which column is which?");
            ui.label(format!("{}: {}", file_name(&self.file), self.reason));
            ui.add_space(6.0);
            changed |= self.choices_ui(ui);
            ui.add_space(6.0);
            self.preview_ui(ui);
            ui.add_space(6.0);
            let title_chosen = self
                .mapping()
                .is_some_and(|m| m.source(Field::Title).is_some());
            ui.horizontal(|ui| {
                if ui
                    .add_enabled(title_chosen, egui::Button::new("Import with these columns"))
                    .on_disabled_hover_text("Choose the column that holds the title first")
                    .clicked()
                {
                    decision = Some(Decision::Import(Box::new(self.choice.clone())));
                }
                if ui.button("Cancel").clicked() {
                    decision = Some(Decision::Cancel);
                }
                if !title_chosen {
                    ui.warning_label("Choose the column that holds the title.");
                }
            });
        });
        if changed {
            self.reread();
        }
        if modal.should_close() && decision.is_none() {
            decision = Some(Decision::Cancel);
        }
        decision
    }

    /// The encoding, separator and column choices; true if one changed.
    fn choices_ui(&mut self, ui: &mut Ui) -> bool {
        let mut changed = false;
        let headers: Vec<String> = self
            .sheet
            .as_ref()
            .map(|s| s.headers.clone())
            .unwrap_or_default();
        egui::Grid::new("import-file-choices")
            .num_columns(4)
            .spacing([12.0, 6.0])
            .show(ui, |ui| {
                ui.label("Encoding");
                let current = self.choice.encoding.unwrap_or(Encoding::Utf8);
                let r = egui::ComboBox::from_id_salt("import-encoding")
                    .selected_text(current.label())
                    .show_ui(ui, |ui| {
                        for e in Encoding::ALL {
                            if ui.selectable_label(e == current, e.label()).clicked() {
                                self.choice.encoding = Some(e);
                                changed = true;
                            }
                        }
                    });
                popup_above_modal(ui, &r.response);
                r.response.accessible_name("Encoding");
                ui.label("Separator");
                let current = self.choice.separator.unwrap_or(Separator::Comma);
                let r = egui::ComboBox::from_id_salt("import-separator")
                    .selected_text(separator_label(current))
                    .show_ui(ui, |ui| {
                        for s in Separator::CANDIDATES {
                            if ui
                                .selectable_label(s == current, separator_label(s))
                                .clicked()
                            {
                                self.choice.separator = Some(s);
                                // Other cells, other columns: start the mapping again.
                                self.choice.columns = None;
                                changed = true;
                            }
                        }
                    });
                popup_above_modal(ui, &r.response);
                r.response.accessible_name("Separator");
                ui.end_row();
            });
        if let Err(why) = &self.sheet {
            ui.message(Tone::Error, why);
            return changed;
        }
        ui.add_space(4.0);
        egui::Grid::new("import-columns-grid")
            .num_columns(6)
            .spacing([12.0, 4.0])
            .show(ui, |ui| {
                for (i, field) in Field::ALL.into_iter().enumerate() {
                    ui.label(field_label(field));
                    let column = self.mapping().and_then(|m| m.column(field));
                    let shown = column
                        .and_then(|c| headers.get(c))
                        .map_or("—", String::as_str);
                    let mut pick: Option<Option<usize>> = None;
                    let r = egui::ComboBox::from_id_salt(("import-column", i))
                        .width(150.0)
                        .selected_text(shown)
                        .show_ui(ui, |ui| {
                            if ui.selectable_label(column.is_none(), "—").clicked() {
                                pick = Some(None);
                            }
                            for (c, h) in headers.iter().enumerate() {
                                if ui.selectable_label(column == Some(c), h).clicked() {
                                    pick = Some(Some(c));
                                }
                            }
                        });
                    popup_above_modal(ui, &r.response);
                    r.response
                        .accessible_name(format!("{} column", field_label(field)));
                    if let Some(pick) = pick {
                        let mut m = self.mapping().cloned().unwrap_or_default();
                        m.set_column(field, pick);
                        self.choice.columns = Some(m);
                        changed = true;
                    }
                    if i % 3 == 2 {
                        ui.end_row();
                    }
                }
            });
        changed
    }

    /// The first rows as they would be imported, and their problems.
    fn preview_ui(&self, ui: &mut Ui) {
        let Ok(sheet) = &self.sheet else { return };
        ui.label(
            RichText::new(format!(
                "Preview of the first rows, read as a {}",
                sheet_kind(sheet)
            ))
            .strong(),
        );
        // A fixed height: the step does not jump (and move the choices from under the
        // pointer) as the preview grows or shrinks with each choice.
        egui::ScrollArea::both()
            .min_scrolled_height(PREVIEW_HEIGHT)
            .max_height(PREVIEW_HEIGHT)
            .auto_shrink([false, false])
            .show(ui, |ui| {
                egui::Grid::new("import-preview")
                    .striped(true)
                    .num_columns(6)
                    .show(ui, |ui| {
                        for h in ["Line", "Title", "Authors", "ISBN", "Barcode", "Problem"] {
                            ui.strong(h);
                        }
                        ui.end_row();
                        let mut lines: Vec<(usize, Option<&crate::model::ImportRow>, &str)> = self
                            .preview
                            .rows
                            .iter()
                            .map(|r| (r.line, Some(r), ""))
                            .chain(
                                self.preview
                                    .errors
                                    .iter()
                                    .map(|e| (e.line, None, e.message.as_str())),
                            )
                            .collect();
                        lines.sort_by_key(|(line, ..)| *line);
                        for (line, row, problem) in lines {
                            ui.label(line.to_string());
                            if let Some(r) = row {
                                ui.label(&r.book.title);
                                ui.label(&r.book.authors);
                                ui.label(r.book.isbn.as_deref().unwrap_or(""));
                                ui.label(r.barcode.as_deref().unwrap_or(""));
                                toned(ui, Tone::Success, "OK");
                            } else {
                                for _ in 0..4 {
                                    ui.label("");
                                }
                                toned(ui, Tone::Error, problem);
                            }
                            ui.end_row();
                        }
                    });
            });
    }
}

/// Height of the preview, in points.
const PREVIEW_HEIGHT: f32 = 180.0;

/// Keeps an open combo box's list above the modal that holds it. Both are foreground areas,
/// and a press on the modal raises it; once the list's area has been seen (egui remembers
/// areas, across runs too) reopening it does not raise it again, so the list opened behind
/// the modal, out of reach (seen under Xvfb). The list's id is the combo box's id with
/// "popup", as egui's `ComboBox::is_open` reads it.
fn popup_above_modal(ui: &Ui, combo: &egui::Response) {
    if egui::ComboBox::is_open(ui.ctx(), combo.id) {
        let list = egui::LayerId::new(egui::Order::Foreground, combo.id.with("popup"));
        ui.ctx().move_to_top(list);
    }
}

/// Text in a tone's colour, on one line: a cell of the preview grid (a framed, wrapping message
/// would take the whole height of the scroll area there and push the row out of sight).
fn toned(ui: &mut Ui, tone: Tone, text: &str) {
    let (fg, _) = super::theme::colors(tone, ui.visuals());
    ui.label(RichText::new(text).color(fg));
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}
