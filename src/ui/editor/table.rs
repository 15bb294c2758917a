//! Drawing the placements table: virtualised rows (only what is in view is laid out), sortable
//! headers, in-place editing of a row, and Remove. It only draws and reports what was clicked;
//! the editor acts on it.

use std::ops::Range;

use egui::{RichText, Ui};
use egui_extras::{Column, TableBuilder, TableRow};
use jiff::tz::TimeZone;

use super::pages::{PAGE, Pages};
use super::row_edit::{EditAction, RowEdit};
use crate::model::{CollectionId, Field, PlacementId, PlacementRow, SortKey, format_minute};
use crate::ui::columns::{ColumnSpec, Columns};
use crate::ui::theme;
use crate::ui::widgets::focus_ring;

/// The placements table's columns: shares of the free width, and minimums. A barcode is the
/// copy's name at the desk: its column is never narrower than 14 digits (a Codabar library
/// barcode; EAN-13 items have 13), so none is cut short.
pub const COLUMNS: [ColumnSpec; 7] = [
    ColumnSpec::flex("Barcode", 1.0, 116.0),
    ColumnSpec::flex("Title", 2.6, 110.0),
    ColumnSpec::flex("Authors", 1.7, 80.0),
    ColumnSpec::flex("Shelf mark", 1.8, 90.0),
    ColumnSpec::flex("Note", 1.1, 70.0),
    ColumnSpec::fixed("Added", 118.0),
    ColumnSpec::fixed("Remove", 70.0),
];

/// What was clicked in the table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TableAction {
    Sort(SortKey),
    StartEdit(PlacementRow),
    Remove(PlacementRow),
    Edit(EditAction),
}

/// What one frame of the table gave.
#[derive(Debug)]
pub struct TableOutput {
    /// The row indexes drawn.
    pub visible: Range<usize>,
    pub action: Option<TableAction>,
    /// How tall the edited row's content was (0 without an edit).
    pub edit_content: f32,
}

/// The table's inputs for one frame.
pub struct Table<'a> {
    pub collection: CollectionId,
    pub pages: &'a Pages,
    pub edit: Option<&'a mut RowEdit>,
    pub highlight: Option<PlacementId>,
    pub edit_height: f32,
    pub columns: &'a mut Columns,
    pub tz: &'a TimeZone,
    /// Where a row stands on this computer, for a shared library's rows saved here and not yet
    /// in it (or waiting for a decision).
    pub local: &'a dyn Fn(crate::model::RecordRef) -> Option<crate::model::LocalState>,
}

impl Table<'_> {
    pub fn show(mut self, ui: &mut Ui) -> TableOutput {
        let mut out = TableOutput {
            visible: 0..0,
            action: None,
            edit_content: 0.0,
        };
        let total = self.pages.total();
        if self.pages.head().is_some() && total == 0 {
            ui.add_space(12.0);
            ui.weak(if self.pages.layout.filter.trim().is_empty() {
                "No copies in this collection yet. Scan a barcode to add one."
            } else {
                "No copies match the filter."
            });
            return out;
        }
        let edit_index = self
            .edit
            .as_ref()
            .and_then(|e| self.pages.index_of(e.base.id));
        // The rows the table draws (start > end until one is drawn).
        let edit_height = self.edit_height;
        let accent = theme::accent(ui.visuals());
        let spacing = ui.spacing().item_spacing.x;
        let widths = self.columns.layout(ui.available_width(), spacing).to_vec();
        // Narrower than the columns' minimums: the table scrolls sideways, nothing is cut off.
        // A solid bar, so it shows that there is more to the right.
        ui.spacing_mut().scroll = egui::style::ScrollStyle::solid();
        egui::ScrollArea::horizontal()
            .id_salt(("placements-across", self.collection))
            .auto_shrink([false, false])
            .show(ui, |ui| {
                ui.spacing_mut().scroll = egui::style::ScrollStyle::floating();
                let (left, top) = (ui.cursor().left(), ui.cursor().top());
                self.draw(
                    ui,
                    &widths,
                    &mut out,
                    edit_index,
                    edit_height,
                    accent,
                    total,
                );
                self.columns.grips(
                    ui,
                    ui.scope_id().with("column-grips"),
                    left,
                    top,
                    theme::ROW_HEIGHT,
                    spacing,
                );
            });
        out.visible = if out.visible.start > out.visible.end {
            0..PAGE
        } else {
            out.visible
        };
        out
    }

    /// The table itself, in columns of `widths`.
    #[expect(
        clippy::too_many_arguments,
        reason = "one frame's layout, computed by `show`"
    )]
    fn draw(
        &mut self,
        ui: &mut Ui,
        widths: &[f32],
        out: &mut TableOutput,
        edit_index: Option<usize>,
        edit_height: f32,
        accent: egui::Color32,
        total: usize,
    ) {
        let (mut first_drawn, mut end_drawn) = (usize::MAX, 0);
        let mut table = TableBuilder::new(ui)
            .id_salt(("placements", self.collection))
            .striped(true)
            .resizable(false)
            .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
            .auto_shrink([true, false])
            .min_scrolled_height(120.0);
        for w in widths {
            table = table.column(Column::exact(*w).clip(true));
        }
        let layout = self.pages.layout.clone();
        let mut sort = None;
        let mut action = None;
        let mut edit_content: f32 = 0.0;
        table
            .header(theme::ROW_HEIGHT, |mut header| {
                for (label, key) in [
                    ("Barcode", Some(SortKey::Barcode)),
                    ("Title", Some(SortKey::Title)),
                    ("Authors", None),
                    ("Shelf mark", Some(SortKey::ShelfMark)),
                    ("Note", None),
                    ("Added", Some(SortKey::Added)),
                ] {
                    header.col(|ui| match key {
                        Some(key) => {
                            if sort_header(ui, label, key, &layout) {
                                sort = Some(key);
                            }
                        }
                        None => {
                            ui.strong(label);
                        }
                    });
                }
                header.col(|_| {});
            })
            .body(|body| {
                let mut draw = |row: TableRow<'_, '_>| {
                    let i = row.index();
                    first_drawn = first_drawn.min(i);
                    end_drawn = end_drawn.max(i + 1);
                    if let Some(a) = self.row(row, accent, &mut edit_content) {
                        action = Some(a);
                    }
                };
                // Fixed heights are cheaper to lay out; only an open edit needs a taller row.
                match edit_index {
                    None => body.rows(theme::ROW_HEIGHT, total, &mut draw),
                    Some(e) => body.heterogeneous_rows(
                        (0..total).map(|i| {
                            if i == e {
                                edit_height
                            } else {
                                theme::ROW_HEIGHT
                            }
                        }),
                        &mut draw,
                    ),
                }
            });
        if let Some(key) = sort {
            out.action = Some(TableAction::Sort(key));
        }
        if let Some(a) = action {
            out.action = Some(a);
        }
        out.edit_content = edit_content;
        out.visible = first_drawn..end_drawn;
    }

    /// One row: its cells, or a placeholder while its page is on its way.
    fn row(
        &mut self,
        mut row: TableRow<'_, '_>,
        accent: egui::Color32,
        edit_content: &mut f32,
    ) -> Option<TableAction> {
        let Some(r) = self.pages.row(row.index()).cloned() else {
            row.col(|ui| {
                ui.weak("…");
            });
            for _ in 0..6 {
                row.col(|_| {});
            }
            return None;
        };
        let highlighted = self.highlight == Some(r.id);
        row.set_selected(highlighted);
        row.col(|ui| {
            let text = RichText::new(&r.barcode).monospace();
            ui.label(if highlighted {
                text.color(accent)
            } else {
                text
            });
        });
        row.col(|ui| {
            ui.label(&r.title);
        });
        row.col(|ui| {
            ui.label(&r.authors);
        });
        let tz = self.tz;
        let mut action = None;
        if let Some(edit) = self.edit.as_deref_mut().filter(|e| e.base.id == r.id) {
            {
                for field in [Field::ShelfMark, Field::Note] {
                    row.col(|ui| {
                        let (a, h) = edit.cell(ui, field, tz);
                        *edit_content = edit_content.max(h);
                        if let Some(a) = a {
                            action = Some(TableAction::Edit(a));
                        }
                    });
                }
                row.col(|ui| {
                    if edit.state.is_saving() {
                        ui.spinner();
                    } else if ui.button("Save").on_hover_text("Enter or Ctrl+S").clicked() {
                        action = Some(TableAction::Edit(EditAction::Save));
                    }
                });
                row.col(|ui| {
                    if ui.button("Cancel").on_hover_text("Esc").clicked() {
                        action = Some(TableAction::Edit(EditAction::Cancel));
                    }
                });
            }
        } else {
            {
                // Widgets are keyed by the placement, not the row's index: when a row goes, the
                // focus does not slide onto the next row's buttons.
                for (field, value) in [(Field::ShelfMark, &r.shelf_mark), (Field::Note, &r.note)] {
                    row.col(|ui| {
                        if ui
                            .push_id(r.id, |ui| editable_cell(ui, field, value, &r.barcode))
                            .inner
                        {
                            action = Some(TableAction::StartEdit(r.clone()));
                        }
                    });
                }
                let local = (self.local)(r.id.into());
                row.col(|ui| match local {
                    Some(state) => {
                        let tone = match state {
                            crate::model::LocalState::Kept => theme::Tone::Pending,
                            crate::model::LocalState::Held => theme::Tone::Warning,
                        };
                        crate::ui::widgets::UiExt::message(ui, tone, state.short())
                            .on_hover_text(state.text());
                    }
                    None => {
                        ui.label(format_minute(r.added, tz));
                    }
                });
                row.col(|ui| {
                    let resp = ui
                        .push_id(r.id, |ui| {
                            ui.small_button("Remove")
                                .on_hover_text(
                                    "Remove this copy from the collection (can be undone)",
                                )
                                .accessible_name(format!("Remove {}", r.barcode))
                        })
                        .inner;
                    if resp.clicked() {
                        action = Some(TableAction::Remove(r.clone()));
                    }
                });
            }
        }
        action
    }
}

/// A shelf mark or note, clickable to edit it in place; true if clicked. The whole cell is the
/// button, its text at the left like the other cells'.
fn editable_cell(ui: &mut Ui, field: Field, value: &str, barcode: &str) -> bool {
    let shown = if value.is_empty() {
        RichText::new("—").weak()
    } else {
        RichText::new(value)
    };
    let noun = field.label().to_lowercase();
    let size = egui::vec2(ui.available_width(), theme::ROW_HEIGHT);
    let (rect, resp) = ui.allocate_exact_size(size, egui::Sense::click());
    let name = format!("Edit {noun} of {barcode}");
    resp.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, &name));
    if ui.is_rect_visible(rect) {
        let galley = egui::WidgetText::from(shown).into_galley(
            ui,
            Some(egui::TextWrapMode::Truncate),
            rect.width() - 4.0,
            egui::TextStyle::Body,
        );
        let color = if resp.hovered() {
            ui.visuals().widgets.hovered.text_color()
        } else {
            ui.visuals().text_color()
        };
        if resp.hovered() {
            ui.painter()
                .rect_filled(rect, 2.0, ui.visuals().widgets.hovered.weak_bg_fill);
        }
        let pos = egui::pos2(rect.left() + 2.0, rect.center().y - galley.size().y / 2.0);
        ui.painter().galley(pos, galley, color);
    }
    let resp = resp.on_hover_text(format!("Click to edit the {noun}"));
    focus_ring(ui, &resp);
    resp.clicked()
}

/// A column header that sorts by `key`; true if clicked. The sorted column carries a small
/// painted triangle (the default fonts have no arrow glyph in the proportional family).
fn sort_header(ui: &mut Ui, label: &str, key: SortKey, layout: &super::pages::Layout) -> bool {
    let sorted = (layout.sort == key).then_some(layout.ascending);
    let resp = ui
        .add(egui::Button::new(RichText::new(label).strong()).frame(false))
        .on_hover_text(format!("Sort by {}", label.to_lowercase()));
    if let Some(ascending) = sorted {
        let (rect, _) =
            ui.allocate_exact_size(egui::vec2(10.0, resp.rect.height()), egui::Sense::hover());
        let color = ui.visuals().strong_text_color();
        let c = rect.center();
        let (tip, base) = if ascending { (-3.5, 3.0) } else { (3.5, -3.0) };
        let points = vec![
            egui::pos2(c.x, c.y + tip),
            egui::pos2(c.x - 4.0, c.y + base),
            egui::pos2(c.x + 4.0, c.y + base),
        ];
        ui.painter().add(egui::Shape::convex_polygon(
            points,
            color,
            egui::Stroke::NONE,
        ));
    }
    focus_ring(ui, &resp);
    resp.clicked()
}
