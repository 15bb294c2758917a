//! Working on a shared library while its server is away: what the librarian is told about saves
//! kept on this computer, and about the ones the server refused when they were sent (they wait
//! for a decision, in plain words, with the other side's values).

use super::{Draft, Field, RecordRef, Stamp};

/// How this computer stands with the shared library's server.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SyncStatus {
    /// The server answers (and this computer's saves go to it).
    pub online: bool,
    /// Since when the server has not answered, while it does not.
    pub offline_since: Option<Stamp>,
    /// When this computer's replica last matched the server.
    pub synced_at: Option<Stamp>,
    /// Saves kept on this computer, not yet in the shared library.
    pub waiting: usize,
    /// Saves the server refused, waiting for a librarian's decision.
    pub attention: usize,
    /// The records saved on this computer and not yet in the shared library (shared: the
    /// status is copied every frame).
    pub kept: std::sync::Arc<std::collections::BTreeSet<RecordRef>>,
    /// The records (mine and theirs) of the saves that wait for a decision.
    pub held: std::sync::Arc<std::collections::BTreeSet<RecordRef>>,
    /// What went wrong the last time this computer's changes were sent or its copy brought up
    /// to date (not the server being away), in words.
    pub problem: Option<String>,
    /// How the last replay went (for the benchmarks).
    pub last_replay: Option<ReplayFigures>,
}

/// One replay of the outbox, measured.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ReplayFigures {
    /// Entries sent (landed or refused).
    pub entries: usize,
    pub seconds: f64,
    /// Each entry's round trip to the server (its statements in its savepoint), in ms.
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl SyncStatus {
    /// The status bar's words for the saves still on this computer, if there are any.
    pub fn waiting_text(&self) -> Option<String> {
        (self.waiting > 0).then(|| {
            super::count(
                self.waiting,
                "change waiting for the server",
                "changes waiting for the server",
            )
        })
    }
}

/// Why a save made offline did not land.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AttentionKind {
    /// Another computer took the value meanwhile (a barcode, a copy in a collection...).
    Conflict,
    /// The record was changed elsewhere since this computer read it.
    Stale,
    /// The record went to the Trash elsewhere.
    Deleted,
    /// The record was deleted for good elsewhere.
    Gone,
    /// The server found the save breaks a rule.
    Invalid,
    /// It depends on an earlier save that waits for a decision (or was discarded).
    Blocked,
}

impl AttentionKind {
    pub fn name(self) -> &'static str {
        match self {
            AttentionKind::Conflict => "conflict",
            AttentionKind::Stale => "stale",
            AttentionKind::Deleted => "deleted",
            AttentionKind::Gone => "gone",
            AttentionKind::Invalid => "invalid",
            AttentionKind::Blocked => "blocked",
        }
    }

    pub fn parse(text: &str) -> Option<AttentionKind> {
        Some(match text {
            "conflict" => AttentionKind::Conflict,
            "stale" => AttentionKind::Stale,
            "deleted" => AttentionKind::Deleted,
            "gone" => AttentionKind::Gone,
            "invalid" => AttentionKind::Invalid,
            "blocked" => AttentionKind::Blocked,
            _ => return None,
        })
    }
}

/// A save made on this computer that the server refused: it waits here until a librarian
/// decides. Nothing is dropped without a decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attention {
    /// Its place in this computer's outbox.
    pub seq: i64,
    /// When and where it was made (the offline time, kept).
    pub made_at: Stamp,
    pub made_by: String,
    /// What the save did, in words ("Place copy 0042 in Rare Books").
    pub what: String,
    /// The record the save wrote on this computer.
    pub record: RecordRef,
    /// The values the save wanted, if it was a create or an edit.
    pub mine: Option<Draft>,
    pub kind: AttentionKind,
    /// Why it did not land, naming the other side ("Copy 0042 was placed in Rare Books by
    /// circulation-desk, 20 Nov 2026 14:10, while you were offline").
    pub words: String,
    /// The record on the server that stands in the way (or that changed), with its version.
    pub theirs: Option<(RecordRef, i64)>,
}

/// What a librarian decides for a save that waits in Needs attention.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Apply mine over theirs (version-checked again against the version shown).
    KeepMine,
    /// Leave the server's record as it is; mine is dropped.
    TakeTheirs,
    /// Send mine again with this value instead (a new barcode, collection, or name).
    Elsewhere(String),
    /// Bring theirs back from the Trash, then apply mine.
    Restore,
    /// Drop mine.
    Discard,
}

impl Attention {
    /// The decisions that fit this entry, in the order they are offered.
    pub fn decisions(&self) -> Vec<Decision> {
        let mut out = Vec::new();
        let editable = matches!(self.mine, Some(Draft::Placement(_) | Draft::Book(_)))
            || self.what.starts_with("Change");
        match self.kind {
            AttentionKind::Conflict => {
                if self.theirs.is_some_and(|(r, _)| r.kind == self.record.kind) && editable {
                    out.push(Decision::KeepMine);
                }
                out.push(Decision::TakeTheirs);
                if self.elsewhere_field().is_some() {
                    out.push(Decision::Elsewhere(String::new()));
                }
            }
            AttentionKind::Stale => {
                if self.mine.is_some() {
                    out.push(Decision::KeepMine);
                }
                out.push(Decision::TakeTheirs);
            }
            AttentionKind::Deleted => {
                out.push(Decision::Restore);
                out.push(Decision::TakeTheirs);
            }
            AttentionKind::Invalid => out.push(Decision::KeepMine),
            AttentionKind::Gone | AttentionKind::Blocked => {}
        }
        out.push(Decision::Discard);
        out
    }

    /// The field "Put it elsewhere" asks a new value for, if the save can be sent with another.
    pub fn elsewhere_field(&self) -> Option<Field> {
        match (&self.mine, self.record.kind) {
            (Some(Draft::Copy(_)), _) => Some(Field::Barcode),
            (Some(Draft::Collection(_)), _) => Some(Field::Name),
            (Some(Draft::Placement(_)), _) | (None, super::Kind::Placement) => {
                Some(Field::Collection)
            }
            (Some(Draft::Book(_)), _) => Some(Field::Isbn),
            _ => None,
        }
    }
}

impl Decision {
    /// The button's words.
    pub fn label(&self) -> &'static str {
        match self {
            Decision::KeepMine => "Keep mine",
            Decision::TakeTheirs => "Take theirs",
            Decision::Elsewhere(_) => "Put it elsewhere",
            Decision::Restore => "Restore it, then apply mine",
            Decision::Discard => "Discard",
        }
    }
}

/// Why the server refused a save made offline, in words that name the other side: "Copy 0042
/// (Dune) was placed in Rare Books by circulation-desk, 20 Nov 2026 14:10, while you were
/// offline". `None` for an outcome that is not a refusal.
pub fn refusal(
    outcome: &super::Outcome,
    tz: &jiff::tz::TimeZone,
) -> Option<(AttentionKind, String)> {
    use super::{Holder, Outcome, format_minute};
    let by = |name: &str| {
        if name.is_empty() {
            String::new()
        } else {
            format!(" by {name}")
        }
    };
    Some(match outcome {
        Outcome::Conflict(c) => {
            let who = c.by.as_ref().map_or(String::new(), |b| by(&b.name));
            let text = match &c.holder {
                Holder::Placement {
                    barcode,
                    title,
                    collection,
                    added,
                    ..
                } => format!(
                    "Copy {barcode} ({title}) was placed in {collection}{who}, {}, while you were offline",
                    format_minute(*added, tz)
                ),
                Holder::Copy {
                    barcode,
                    title,
                    added,
                    ..
                } => format!(
                    "Barcode {barcode} was given to a copy of {title}{who}, {}, while you were offline",
                    format_minute(*added, tz)
                ),
                Holder::Collection { name, added, .. } => format!(
                    "A collection named {name} was made{who}, {}, while you were offline",
                    format_minute(*added, tz)
                ),
                Holder::Book {
                    title, isbn, added, ..
                } => format!(
                    "ISBN {} was given to {title}{who}, {}, while you were offline",
                    super::isbn::display(isbn),
                    format_minute(*added, tz)
                ),
            };
            (AttentionKind::Conflict, text)
        }
        Outcome::Stale(r) => (
            AttentionKind::Stale,
            format!(
                "It was changed{}, {}, while you were offline",
                by(&r.meta().updated_by),
                format_minute(r.meta().updated_at, tz)
            ),
        ),
        Outcome::DeletedElsewhere(r) => (
            AttentionKind::Deleted,
            format!(
                "It was moved to the Trash{}, {}, while you were offline",
                by(&r.meta().updated_by),
                format_minute(r.meta().updated_at, tz)
            ),
        ),
        Outcome::Gone(_) => (
            AttentionKind::Gone,
            "It was deleted for good on another computer while you were offline".to_owned(),
        ),
        Outcome::UnknownBarcode(b) => (
            AttentionKind::Invalid,
            format!("No copy has barcode {b} in the shared library"),
        ),
        Outcome::Invalid(errors) => (
            AttentionKind::Invalid,
            format!(
                "The server refused it: {}",
                errors
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        ),
        Outcome::Saved { .. } | Outcome::Imported(_) | Outcome::Settings | Outcome::Failed(_) => {
            return None;
        }
    })
}

/// Where a record stands on this computer, while it differs from the shared library.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LocalState {
    /// Saved here, waiting to be sent.
    Kept,
    /// Sent, refused, waiting for a librarian's decision.
    Held,
}

impl LocalState {
    /// The few words shown in the record's row.
    pub fn short(self) -> &'static str {
        match self {
            LocalState::Kept => "Not yet sent",
            LocalState::Held => "Needs decision",
        }
    }

    /// The words shown at the record.
    pub fn text(self) -> &'static str {
        match self {
            LocalState::Kept => "Saved on this computer — not yet in the shared library",
            LocalState::Held => "Needs your decision — see Needs attention",
        }
    }
}

impl SyncStatus {
    /// Where `record` stands on this computer, if it differs from the shared library.
    pub fn state_of(&self, record: RecordRef) -> Option<LocalState> {
        if self.held.contains(&record) {
            Some(LocalState::Held)
        } else if self.kept.contains(&record) {
            Some(LocalState::Kept)
        } else {
            None
        }
    }

    /// The offline banner: "Offline — changes are kept on this computer and sent when the
    /// server is back (as of 14:02)".
    pub fn banner(&self, tz: &jiff::tz::TimeZone) -> Option<String> {
        if self.online {
            return None;
        }
        let as_of = self.synced_at.map_or(String::new(), |at| {
            let local = at.0.to_zoned(tz.clone());
            let today = jiff::Timestamp::now().to_zoned(tz.clone()).date();
            if local.date() == today {
                format!(" (as of {})", local.strftime("%H:%M"))
            } else {
                format!(" (as of {})", super::format_minute(at, tz))
            }
        });
        Some(format!(
            "Offline — changes are kept on this computer and sent when the server is back{as_of}. Importing and moving a library need the server."
        ))
    }
}
