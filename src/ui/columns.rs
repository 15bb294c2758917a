//! Column widths for the tables: each flexible column has a share of the width and a minimum,
//! fixed columns keep theirs. The shares follow the window as it grows or shrinks, also after a
//! border was dragged (a drag moves share from one column to its neighbour, it does not pin
//! widths). Below the sum of the minimums the table scrolls sideways instead of cutting
//! columns off. Each border between flexible columns has a visible grip that can be dragged
//! with the mouse, or focused and moved with the arrow keys, and is named for screen readers.

use egui::{CursorIcon, Id, Key, Rect, Sense, Stroke, Ui, pos2, vec2};

/// How a column takes its width.
#[derive(Clone, Copy, Debug)]
pub struct ColumnSpec {
    pub name: &'static str,
    /// The column's share of the free width (0: a fixed column).
    pub share: f32,
    /// Its narrowest (flexible) or its width (fixed).
    pub min: f32,
}

impl ColumnSpec {
    pub const fn flex(name: &'static str, share: f32, min: f32) -> Self {
        ColumnSpec { name, share, min }
    }

    pub const fn fixed(name: &'static str, width: f32) -> Self {
        ColumnSpec {
            name,
            share: 0.0,
            min: width,
        }
    }

    fn is_flex(&self) -> bool {
        self.share > 0.0
    }
}

/// The widths of one table's columns, with the shares the librarian may have dragged.
#[derive(Clone, Debug)]
pub struct Columns {
    specs: Vec<ColumnSpec>,
    shares: Vec<f32>,
    /// Widths laid out last frame.
    widths: Vec<f32>,
}

/// How far one arrow-key press moves a border.
const KEY_STEP: f32 = 16.0;

impl Columns {
    pub fn new(specs: &[ColumnSpec]) -> Self {
        Columns {
            specs: specs.to_vec(),
            shares: specs.iter().map(|s| s.share).collect(),
            widths: specs.iter().map(|s| s.min).collect(),
        }
    }

    /// The widths for a table `available` wide (spacing between columns included): the free
    /// width shared out, never a column below its minimum.
    pub fn layout(&mut self, available: f32, spacing: f32) -> &[f32] {
        let n = self.specs.len() as f32;
        let fixed: f32 = self
            .specs
            .iter()
            .filter(|s| !s.is_flex())
            .map(|s| s.min)
            .sum();
        let free = (available - fixed - spacing * (n - 1.0)).max(0.0);
        // Columns held at their minimum give up their share; the rest share what is left.
        let mut held = vec![false; self.specs.len()];
        loop {
            let share: f32 = self
                .shares
                .iter()
                .zip(&held)
                .filter(|(_, h)| !**h)
                .map(|(s, _)| *s)
                .sum::<f32>()
                .max(f32::EPSILON);
            let held_width: f32 = self
                .specs
                .iter()
                .zip(&held)
                .filter(|(s, h)| s.is_flex() && **h)
                .map(|(s, _)| s.min)
                .sum();
            let left = (free - held_width).max(0.0);
            let mut changed = false;
            for (i, spec) in self.specs.iter().enumerate() {
                if !spec.is_flex() || held[i] {
                    continue;
                }
                if left * self.shares[i] / share < spec.min {
                    held[i] = true;
                    changed = true;
                }
            }
            if !changed {
                for (i, spec) in self.specs.iter().enumerate() {
                    self.widths[i] = if !spec.is_flex() || held[i] {
                        spec.min
                    } else {
                        left * self.shares[i] / share
                    };
                }
                break;
            }
        }
        &self.widths
    }

    /// The width the columns take together (more than `available` when they scroll).
    #[cfg(test)]
    fn total(&self, spacing: f32) -> f32 {
        self.widths.iter().sum::<f32>() + spacing * (self.widths.len().saturating_sub(1)) as f32
    }

    /// Moves the border after column `i` by `dx` points: share moves between `i` and the next
    /// flexible column, within both minimums.
    fn drag(&mut self, i: usize, dx: f32) {
        let Some(j) = (i + 1..self.specs.len()).find(|&j| self.specs[j].is_flex()) else {
            return;
        };
        let (wi, wj) = (self.widths[i], self.widths[j]);
        let dx = dx.clamp(self.specs[i].min - wi, wj - self.specs[j].min);
        if dx.abs() < f32::EPSILON || wi + wj <= 0.0 {
            return;
        }
        let pair = self.shares[i] + self.shares[j];
        self.shares[i] = pair * (wi + dx) / (wi + wj);
        self.shares[j] = pair * (wj - dx) / (wi + wj);
    }

    /// Draws the grips between flexible columns over a header row at `top`..`top + height`
    /// starting at `left`, and acts on drags and arrow keys. `id` keeps the grips apart from
    /// other tables'.
    pub fn grips(&mut self, ui: &Ui, id: Id, left: f32, top: f32, height: f32, spacing: f32) {
        let mut x = left;
        for i in 0..self.specs.len() {
            x += self.widths[i];
            let next_flex = (i + 1..self.specs.len()).any(|j| self.specs[j].is_flex());
            let border = x + spacing / 2.0;
            x += spacing;
            if !self.specs[i].is_flex() || !next_flex {
                continue;
            }
            let rect = Rect::from_center_size(pos2(border, top + height / 2.0), vec2(8.0, height));
            let resp = ui
                .interact(rect, id.with(("grip", i)), Sense::click_and_drag())
                .on_hover_cursor(CursorIcon::ResizeHorizontal)
                .on_hover_text("Drag to resize the columns");
            let name = format!("Resize the {} column", self.specs[i].name);
            resp.widget_info(|| {
                egui::WidgetInfo::labeled(egui::accesskit::Role::Splitter, true, &name)
            });
            if resp.dragged() {
                self.drag(i, resp.drag_delta().x);
            }
            if resp.has_focus() {
                let (left_key, right_key) = ui.input(|inp| {
                    (
                        inp.key_pressed(Key::ArrowLeft),
                        inp.key_pressed(Key::ArrowRight),
                    )
                });
                if left_key {
                    self.drag(i, -KEY_STEP);
                }
                if right_key {
                    self.drag(i, KEY_STEP);
                }
            }
            let visuals = ui.visuals();
            let color = if resp.hovered() || resp.dragged() || resp.has_focus() {
                visuals.widgets.active.fg_stroke.color
            } else {
                visuals.widgets.noninteractive.bg_stroke.color
            };
            let painter = ui.painter();
            painter.line_segment(
                [pos2(border, top + 3.0), pos2(border, top + height - 3.0)],
                Stroke::new(if resp.hovered() { 2.0 } else { 1.0 }, color),
            );
            if resp.has_focus() {
                painter.rect_stroke(
                    rect,
                    2.0,
                    Stroke::new(1.0, visuals.selection.stroke.color),
                    egui::StrokeKind::Inside,
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols() -> Columns {
        Columns::new(&[
            ColumnSpec::flex("Barcode", 1.0, 60.0),
            ColumnSpec::flex("Title", 3.0, 100.0),
            ColumnSpec::flex("Authors", 2.0, 80.0),
            ColumnSpec::fixed("Added", 100.0),
        ])
    }

    #[test]
    fn free_width_is_shared_and_minimums_hold() {
        let mut c = cols();
        let w = c.layout(700.0, 0.0).to_vec();
        assert!((w[3] - 100.0).abs() < f32::EPSILON);
        assert!(
            (w[1] - 300.0).abs() < 0.01 && (w[2] - 200.0).abs() < 0.01,
            "{w:?}"
        );
        // Narrow: every flexible column at least its minimum; the table is wider than the view.
        let w = c.layout(200.0, 0.0).to_vec();
        assert!(
            w.iter()
                .zip([60.0, 100.0, 80.0, 100.0])
                .all(|(a, b)| (a - b).abs() < 0.01),
            "{w:?}"
        );
        assert!(c.total(0.0) > 200.0);
    }

    #[test]
    fn a_drag_moves_share_and_the_columns_still_follow_the_window() {
        let mut c = cols();
        c.layout(700.0, 0.0);
        c.drag(1, -100.0); // Title narrower, Authors wider
        let w = c.layout(700.0, 0.0).to_vec();
        assert!(
            (w[1] - 200.0).abs() < 0.01 && (w[2] - 300.0).abs() < 0.01,
            "{w:?}"
        );
        // Twice the free width: both grow, in the dragged proportion.
        let w = c.layout(1300.0, 0.0).to_vec();
        assert!(
            (w[1] - 400.0).abs() < 0.01 && (w[2] - 600.0).abs() < 0.01,
            "{w:?}"
        );
        // A drag never takes a column below its minimum.
        c.layout(700.0, 0.0);
        c.drag(0, -1000.0);
        assert!(c.layout(700.0, 0.0)[0] >= 60.0);
    }
}
