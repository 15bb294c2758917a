//! The catalog: search books as you type, edit a book's record, and manage its copies.

use egui::{RichText, Ui};
use egui_extras::{Column, Size, StripBuilder, TableBuilder};

use super::columns::{ColumnSpec, Columns};
use super::command::{AppCommand, Commands};
use super::editor::{SHORTCUT_FIND, SHORTCUT_NEW, SHORTCUT_SAVE};
use super::live::Live;
use super::requests::{Requests, SaveState};
use super::theme;
use super::undo::UndoOffer;
use super::widgets::{StaleChoice, UiExt, form_field, form_problem};
use crate::model::{
    Book, BookDraft, BookId, BookRow, CollectionSummary, CopyDraft, CopyRow, Draft, Field, Op,
    Outcome, Problem, Record, format_day,
};
use crate::tasks::{Event, Port, RequestId};

/// The results table's columns.
const COLUMNS: [ColumnSpec; 5] = [
    ColumnSpec::flex("Title", 3.0, 120.0),
    ColumnSpec::flex("Authors", 2.0, 80.0),
    ColumnSpec::fixed("ISBN", 140.0),
    ColumnSpec::fixed("Year", 46.0),
    ColumnSpec::flex("Copies", 1.0, 60.0),
];

/// The narrowest the results are shown beside an open book.
const RESULTS_MIN: f32 = 320.0;
/// The width of the open book's panel beside the results.
const FORM_WIDTH: f32 = 410.0;

/// Books shown for one search.
pub const RESULTS: usize = 200;

const BOOK_FIELDS: [Field; 6] = [
    Field::Title,
    Field::Authors,
    Field::Isbn,
    Field::Publisher,
    Field::Year,
    Field::Nonfiling,
];

#[derive(Clone, Debug)]
enum Purpose {
    SaveBook,
    DeleteBook { title: String },
    AddCopy,
    DeleteCopy { barcode: String },
    Undo,
}

/// The book form: a new book, or an existing one and the version it was loaded at.
#[derive(Debug)]
struct BookForm {
    base: Option<Book>,
    draft: BookDraft,
    state: SaveState,
    focus: bool,
    /// Just saved: take the stored values (normalised) when they arrive.
    refresh: bool,
}

/// Books matching a search, and collections whose name matches it.
type SearchResults = (Vec<BookRow>, Vec<CollectionSummary>);

/// A book's record (if it still exists) and its live copies.
type BookWithCopies = (Option<Book>, Vec<CopyRow>);

/// The catalog view.
#[derive(Debug)]
pub struct CatalogView {
    port: Port,
    commands: Commands,
    pub search: String,
    focus_search: bool,
    results: Live<String, SearchResults>,
    form: Option<BookForm>,
    copies: Live<BookId, BookWithCopies>,
    new_barcode: String,
    copy_state: SaveState,
    undo: Option<UndoOffer>,
    requests: Requests<Purpose>,
    error: Option<String>,
    columns: Columns,
}

impl CatalogView {
    pub fn new(port: Port, commands: Commands) -> Self {
        CatalogView {
            port,
            commands,
            search: String::new(),
            focus_search: false,
            results: Live::new(),
            form: None,
            copies: Live::new(),
            new_barcode: String::new(),
            copy_state: SaveState::Idle,
            undo: None,
            requests: Requests::new(),
            error: None,
            columns: Columns::new(&COLUMNS),
        }
    }

    /// Takes the catalog's Undo offer (Ctrl+Z).
    pub fn undo_latest(&mut self) {
        UndoOffer::take(
            &mut self.undo,
            &self.port,
            Purpose::Undo,
            &mut self.requests,
        );
    }

    /// Puts the cursor in the search field.
    pub fn focus_search(&mut self) {
        self.focus_search = true;
    }

    /// Opens an empty form for a new book.
    pub fn start_new_book(&mut self) {
        self.form = Some(BookForm {
            base: None,
            draft: BookDraft::default(),
            state: SaveState::Idle,
            focus: true,
            refresh: false,
        });
    }

    fn selected_book(&self) -> Option<BookId> {
        self.form
            .as_ref()
            .and_then(|f| f.base.as_ref().map(|b| b.id))
    }

    /// The selected book's live copies, as last loaded.
    fn copies(&self) -> &[CopyRow] {
        match self.selected_book() {
            Some(book) => self
                .copies
                .value_for(&book)
                .map_or(&[], |(_, c)| c.as_slice()),
            None => &[],
        }
    }

    fn poll(&mut self) {
        let wanted = self.search.trim().to_owned();
        self.results.update(&self.port, &wanted, |q| {
            move |r| Ok((r.search_books(&q, RESULTS)?, r.search_collections(&q, 8)?))
        });
        if let Some(book) = self.selected_book()
            && self.copies.update(&self.port, &book, |book| {
                move |r| Ok((r.book(book)?, r.copies_of(book)?))
            })
            && let Some((Some(book), _)) = self.copies.value_for(&book)
            && let Some(form) = &mut self.form
        {
            // Keep the form's record fresh while it is not being edited.
            let untouched =
                form.refresh || form.base.as_ref().map(BookDraft::from) == Some(form.draft.clone());
            if form.base.as_ref().is_some_and(|b| b.id == book.id)
                && !form.state.is_saving()
                && form.state.problem().is_none()
                && untouched
            {
                form.draft = BookDraft::from(book);
                form.base = Some(book.clone());
                form.refresh = false;
            }
        }
        for answer in self.requests.poll(&self.port) {
            match answer.event {
                Event::Waiting { since, reason } => {
                    let state = match answer.purpose {
                        Purpose::SaveBook => self.form.as_mut().map(|f| &mut f.state),
                        Purpose::AddCopy => Some(&mut self.copy_state),
                        Purpose::Undo => self.undo.as_mut().map(|u| &mut u.state),
                        _ => None,
                    };
                    if let Some(state) = state {
                        state.mark_waiting(answer.request, since, reason);
                    }
                }
                Event::Done(outcome) => self.settle(answer.request, answer.purpose, outcome),
            }
        }
    }

    /// Puts an outcome where it belongs: only into the form (or offer) that sent it, which may
    /// have been replaced meanwhile.
    fn settle(&mut self, request: RequestId, purpose: Purpose, outcome: Outcome) {
        let tz = self.port.tz().clone();
        match purpose {
            Purpose::SaveBook => {
                let Some(form) = &mut self.form else { return };
                if let Some(Outcome::Saved { record, version }) =
                    form.state.settle(request, outcome)
                {
                    // Show the saved record; its values arrive with the next read.
                    form.refresh = true;
                    match &mut form.base {
                        Some(b) => b.meta.version = version,
                        None => form.base = Some(placeholder_book(BookId(record.id), version)),
                    }
                    self.copies.invalidate();
                }
            }
            Purpose::DeleteBook { title } => match outcome {
                Outcome::Saved { record, version } => {
                    self.form = None;
                    self.undo = Some(UndoOffer::new(
                        record,
                        version,
                        format!("Moved “{title}” (and its copies) to the Trash."),
                    ));
                }
                other => {
                    let text = Problem::describe(other, &tz);
                    self.error = Some(format!("Could not move “{title}” to the Trash: {text}"));
                }
            },
            Purpose::AddCopy => {
                if self.copy_state.settle(request, outcome).is_some() {
                    self.new_barcode.clear();
                }
            }
            Purpose::DeleteCopy { barcode } => match outcome {
                Outcome::Saved { record, version } => {
                    self.undo = Some(UndoOffer::new(
                        record,
                        version,
                        format!("Moved copy {barcode} to the Trash."),
                    ));
                }
                other => {
                    let text = Problem::describe(other, &tz);
                    self.error = Some(format!("Could not remove copy {barcode}: {text}"));
                }
            },
            Purpose::Undo => {
                UndoOffer::settle(&mut self.undo, request, outcome);
            }
        }
    }

    fn submit(&mut self, op: Op, purpose: Purpose) -> SaveState {
        self.requests.submit(&self.port, op, purpose)
    }

    fn save_book(&mut self, version_override: Option<i64>) {
        let Some(form) = &self.form else { return };
        if form.state.is_saving() {
            return;
        }
        let draft = Draft::Book(form.draft.clone());
        let op = match &form.base {
            None => Op::Create(draft),
            Some(b) => Op::Update {
                target: b.id.into(),
                version: version_override.unwrap_or(b.meta.version),
                draft,
            },
        };
        let state = self.submit(op, Purpose::SaveBook);
        if let Some(form) = &mut self.form {
            form.state = state;
            if let (Some(b), Some(v)) = (&mut form.base, version_override) {
                b.meta.version = v;
            }
        }
    }

    /// Draws the catalog.
    pub fn ui(&mut self, ui: &mut Ui) {
        self.poll();
        let tz = self.port.tz().clone();
        let (find, new, save) = ui.input_mut(|i| {
            (
                i.consume_shortcut(&SHORTCUT_FIND),
                i.consume_shortcut(&SHORTCUT_NEW),
                i.consume_shortcut(&SHORTCUT_SAVE),
            )
        });
        if find {
            self.focus_search = true;
        }
        if new {
            self.start_new_book();
        }
        if save {
            self.save_book(None);
        }
        ui.horizontal(|ui| {
            ui.heading("Catalog");
            let l = ui.label("Search");
            let r = ui
                .add(
                    egui::TextEdit::singleline(&mut self.search)
                        .hint_text("title, author, ISBN, publisher or barcode")
                        .desired_width(320.0),
                )
                .labelled_by(l.id);
            if self.focus_search {
                r.request_focus();
                self.focus_search = false;
            }
            if self.results.is_fetching() {
                ui.spinner();
            }
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                if ui.button("New book").on_hover_text("Ctrl+N").clicked() {
                    self.start_new_book();
                }
            });
        });
        if let Some(e) = self.error.clone() {
            ui.horizontal(|ui| {
                ui.error_label(&e);
                if ui.small_button("Dismiss").clicked() {
                    self.error = None;
                }
            });
        }
        if let Some(f) = self.results.error() {
            ui.error_label(&format!("Search failed: {f}"));
        }
        if let Some(f) = self.copies.error() {
            ui.error_label(&format!("Cannot read the copies: {f}"));
        }
        let collections: &[CollectionSummary] =
            self.results.value().map_or(&[], |(_, c)| c.as_slice());
        if !collections.is_empty() {
            ui.horizontal_wrapped(|ui| {
                ui.label("Collections:");
                for c in collections {
                    if ui
                        .button(&c.name)
                        .on_hover_text("Open this collection")
                        .clicked()
                    {
                        self.commands.send(AppCommand::ShowCollection(c.id));
                    }
                }
            });
        }
        UndoOffer::bar(
            &mut self.undo,
            ui,
            &self.port,
            Purpose::Undo,
            &mut self.requests,
        );
        // The results and the open book side by side where there is room for both; on a
        // narrow window the open book takes the place of the results, with a way back.
        let side_by_side = ui.available_width() >= RESULTS_MIN + FORM_WIDTH + 12.0;
        if self.form.is_some() && side_by_side {
            StripBuilder::new(ui)
                .size(Size::remainder().at_least(RESULTS_MIN))
                .size(Size::exact(FORM_WIDTH))
                .horizontal(|mut strip| {
                    strip.cell(|ui| self.results_table(ui));
                    strip.cell(|ui| {
                        egui::Frame::group(ui.style()).show(ui, |ui| {
                            egui::ScrollArea::vertical()
                                .id_salt("book-form")
                                .show(ui, |ui| self.form_ui(ui, &tz));
                        });
                    });
                });
        } else if self.form.is_some() {
            if ui.button("Back to the results").clicked() {
                self.requests
                    .forget(self.form.as_ref().and_then(|f| f.state.request()));
                self.form = None;
                return;
            }
            egui::ScrollArea::vertical()
                .id_salt("book-form")
                .auto_shrink([false, false])
                .show(ui, |ui| self.form_ui(ui, &tz));
        } else {
            self.results_table(ui);
        }
    }

    fn results_table(&mut self, ui: &mut Ui) {
        let results: &[BookRow] = self.results.value().map_or(&[], |(r, _)| r.as_slice());
        if results.is_empty() && self.results.is_loaded() {
            ui.add_space(8.0);
            ui.weak(if self.search.trim().is_empty() {
                "The catalog is empty. Add a book with New book."
            } else {
                "No books match."
            });
            return;
        }
        let selected = self.selected_book();
        let mut open = None;
        let accent = theme::accent(ui.visuals());
        let spacing = ui.spacing().item_spacing.x;
        let widths = self.columns.layout(ui.available_width(), spacing).to_vec();
        let columns = &mut self.columns;
        ui.spacing_mut().scroll = egui::style::ScrollStyle::solid();
        egui::ScrollArea::horizontal()
            .id_salt("catalog-across")
            .auto_shrink([false, false])
            .show(ui, |ui| {
                ui.spacing_mut().scroll = egui::style::ScrollStyle::floating();
                let (left, top) = (ui.cursor().left(), ui.cursor().top());
                let mut table = TableBuilder::new(ui)
                    .id_salt("catalog")
                    .striped(true)
                    .resizable(false)
                    // Rows answer a click but are not Tab stops; the title is (and carries the name).
                    .sense(egui::Sense::CLICK)
                    .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
                    .auto_shrink([true, false]);
                for w in &widths {
                    table = table.column(Column::exact(*w).clip(true));
                }
                table
                    .header(theme::ROW_HEIGHT, |mut h| {
                        for name in ["Title", "Authors", "ISBN", "Year", "Copies"] {
                            h.col(|ui| {
                                ui.strong(name);
                            });
                        }
                    })
                    .body(|body| {
                        body.rows(theme::ROW_HEIGHT, results.len(), |mut row| {
                            let b = &results[row.index()];
                            let is_selected = selected == Some(b.book.id);
                            row.set_selected(is_selected);
                            row.col(|ui| {
                                let t = RichText::new(&b.book.title);
                                let r = ui.add(
                                    egui::Label::new(if is_selected { t.color(accent) } else { t })
                                        .sense(egui::Sense::click())
                                        .truncate(),
                                );
                                if r.clicked() {
                                    open = Some(b.book.clone());
                                }
                            });
                            row.col(|ui| {
                                ui.label(&b.book.authors);
                            });
                            row.col(|ui| {
                                ui.monospace(
                                    b.book
                                        .isbn
                                        .as_deref()
                                        .map(crate::model::isbn::display)
                                        .unwrap_or_default(),
                                );
                            });
                            row.col(|ui| {
                                ui.label(b.book.year.map(|y| y.to_string()).unwrap_or_default());
                            });
                            row.col(|ui| {
                                ui.label(b.barcodes.join(", "));
                            });
                            if row.response().clicked() {
                                open = Some(b.book.clone());
                            }
                        });
                    });
                columns.grips(
                    ui,
                    ui.scope_id().with("column-grips"),
                    left,
                    top,
                    theme::ROW_HEIGHT,
                    spacing,
                );
            });
        if let Some(book) = open {
            self.form = Some(BookForm {
                draft: BookDraft::from(&book),
                base: Some(book),
                state: SaveState::Idle,
                focus: false,
                refresh: false,
            });
            self.copy_state = SaveState::Idle;
        }
    }

    fn form_ui(&mut self, ui: &mut Ui, tz: &jiff::tz::TimeZone) {
        let mut save = None;
        let mut close = false;
        let mut delete = None;
        let mut take_theirs = None;
        {
            let Some(form) = &mut self.form else { return };
            let before = form.draft.clone();
            ui.heading(match &form.base {
                None => "New book".to_owned(),
                Some(b) if b.title.is_empty() => "Book".to_owned(),
                Some(b) => b.title.clone(),
            });
            if let Some(b) = &form.base
                && b.meta.version > 0
            {
                ui.weak(format!("Added {}", format_day(b.meta.created_at, tz)));
            }
            let problem = form.state.problem().cloned();
            let msg = |f: Field| problem.as_ref().and_then(|p| p.field_message(f, tz));
            let r = form_field(ui, "Title", &mut form.draft.title, 240.0, msg(Field::Title));
            if form.focus {
                r.request_focus();
                form.focus = false;
            }
            form_field(
                ui,
                "Authors",
                &mut form.draft.authors,
                240.0,
                msg(Field::Authors),
            );
            form_field(ui, "ISBN", &mut form.draft.isbn, 160.0, msg(Field::Isbn));
            form_field(
                ui,
                "Publisher",
                &mut form.draft.publisher,
                240.0,
                msg(Field::Publisher),
            );
            form_field(ui, "Year", &mut form.draft.year, 60.0, msg(Field::Year));
            form_field(
                ui,
                "Nonfiling",
                &mut form.draft.nonfiling,
                30.0,
                msg(Field::Nonfiling),
            )
            .on_hover_text(
                "How many characters of the title do not file (\"The \" is 4). Empty: a leading article of the library's list is skipped.",
            );
            let base = form.base.clone().map(Record::Book);
            match form_problem(ui, &form.state, base.as_ref(), &BOOK_FIELDS, tz) {
                Some(StaleChoice::KeepMine(v)) => save = Some(Some(v)),
                Some(StaleChoice::TakeTheirs(Record::Book(b))) => take_theirs = Some(b),
                Some(StaleChoice::TakeTheirs(_)) | None => {}
            }
            if form.draft != before {
                form.state.edited();
            }
            ui.save_progress(&form.state);
            ui.horizontal(|ui| {
                let label = if form.base.is_none() {
                    "Create book"
                } else {
                    "Save"
                };
                if ui
                    .add_enabled(!form.state.is_saving(), egui::Button::new(label))
                    .on_hover_text("Ctrl+S")
                    .clicked()
                {
                    save = Some(None);
                }
                if ui.button("Close").on_hover_text("Esc").clicked()
                    || ui.input(|i| i.key_pressed(egui::Key::Escape))
                {
                    close = true;
                }
                if let Some(b) = &form.base
                    && ui.button("Move to Trash").clicked()
                {
                    delete = Some((b.id, b.meta.version, b.title.clone()));
                }
            });
        }
        if let Some(b) = take_theirs
            && let Some(form) = &mut self.form
        {
            form.draft = BookDraft::from(&b);
            form.base = Some(b);
            form.state = SaveState::Idle;
        }
        if close {
            self.requests
                .forget(self.form.as_ref().and_then(|f| f.state.request()));
            self.form = None;
            return;
        }
        if let Some(version) = save {
            self.save_book(version);
        }
        if let Some((id, version, title)) = delete {
            let state = self.submit(
                Op::Delete {
                    target: id.into(),
                    version,
                },
                Purpose::DeleteBook { title },
            );
            if let SaveState::Problem(p) = state {
                self.error = Some(p.general_message(None, tz));
            }
        }
        if let Some(book) = self.selected_book() {
            ui.separator();
            self.copies_ui(ui, book, tz);
        }
    }

    fn copies_ui(&mut self, ui: &mut Ui, book: BookId, tz: &jiff::tz::TimeZone) {
        ui.strong("Copies");
        let mut remove = None;
        if self.copies().is_empty() && self.copies.value_for(&book).is_some() {
            ui.weak("No copies yet.");
        }
        for c in self.copies() {
            ui.horizontal_wrapped(|ui| {
                ui.monospace(&c.copy.barcode);
                if c.collections.is_empty() {
                    ui.weak("not in any collection");
                } else {
                    ui.label(format!("in {}", c.collections.join(", ")));
                }
                if ui
                    .small_button("Remove")
                    .accessible_name(format!("Remove copy {}", c.copy.barcode))
                    .clicked()
                {
                    remove = Some((c.copy.id, c.copy.meta.version, c.copy.barcode.clone()));
                }
            });
        }
        let mut add = false;
        ui.horizontal(|ui| {
            let l = ui.label("New copy barcode");
            let r = ui
                .add(egui::TextEdit::singleline(&mut self.new_barcode).desired_width(140.0))
                .labelled_by(l.id);
            let enter = r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            if ui
                .add_enabled(!self.copy_state.is_saving(), egui::Button::new("Add copy"))
                .clicked()
                || enter
            {
                add = true;
            }
        });
        if let Some(p) = self.copy_state.problem() {
            ui.error_label(&p.general_message(None, tz));
        }
        ui.save_progress(&self.copy_state);
        if add && !self.copy_state.is_saving() && !self.new_barcode.trim().is_empty() {
            let op = Op::Create(Draft::Copy(CopyDraft {
                book_id: book,
                barcode: self.new_barcode.clone(),
            }));
            self.copy_state = self.submit(op, Purpose::AddCopy);
        }
        if let Some((id, version, barcode)) = remove {
            let state = self.submit(
                Op::Delete {
                    target: id.into(),
                    version,
                },
                Purpose::DeleteCopy { barcode },
            );
            if let SaveState::Problem(p) = state {
                self.error = Some(p.general_message(None, tz));
            }
        }
    }
}

/// A book just created: its id and version until its record is read back.
fn placeholder_book(id: BookId, version: i64) -> Book {
    let now = crate::model::Stamp::now();
    Book {
        id,
        title: String::new(),
        authors: String::new(),
        isbn: None,
        publisher: String::new(),
        year: None,
        nonfiling: None,
        meta: crate::model::Meta {
            version,
            created_at: now,
            updated_at: now,
            deleted_at: None,
            updated_by: String::new(),
        },
    }
}
