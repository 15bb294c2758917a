//! The words for every outcome: what a user is told when a save did not happen, said once here
//! so the window, the command line and the importer say it the same way.

use jiff::tz::TimeZone;

use super::{Conflict, Failure, Field, FieldError, Outcome, Record};

/// The words shown while a save waits for another program's write lock.
pub const WAITING_TEXT: &str = "Waiting for the library file — another program is writing";

/// The words shown while a save waits for the library server to come back.
pub const SERVER_WAITING_TEXT: &str = "Waiting for the library server — reconnecting";

/// Why a save is waiting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Wait {
    /// Another program (or, on a shared library, another computer) holds the write lock.
    Lock,
    /// The library server cannot be reached; the save goes once it is back.
    Server,
}

impl Wait {
    /// What the librarian is told.
    pub fn text(self) -> &'static str {
        match self {
            Wait::Lock => WAITING_TEXT,
            Wait::Server => SERVER_WAITING_TEXT,
        }
    }
}

/// Why a save did not happen, as an editor keeps it until the user acts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    Fields(Vec<FieldError>),
    Conflict(Conflict),
    Stale(Record),
    DeletedElsewhere(Record),
    Gone,
    UnknownBarcode(String),
    Failed(Failure),
    /// The save was not even queued (read-only library, queue full), in words.
    NotQueued(String),
}

impl Problem {
    /// The problem an outcome reports, or `None` if it is a success.
    pub fn from_outcome(outcome: Outcome) -> Option<Problem> {
        Some(match outcome {
            Outcome::Saved { .. } | Outcome::Imported(_) | Outcome::Settings => return None,
            Outcome::Invalid(e) => Problem::Fields(e),
            Outcome::Conflict(c) => Problem::Conflict(c),
            Outcome::Stale(r) => Problem::Stale(r),
            Outcome::DeletedElsewhere(r) => Problem::DeletedElsewhere(r),
            Outcome::Gone(_) => Problem::Gone,
            Outcome::UnknownBarcode(b) => Problem::UnknownBarcode(b),
            Outcome::Failed(f) => Problem::Failed(f),
        })
    }

    /// A save that could not even be queued, and why.
    pub fn not_saved(reason: &dyn std::fmt::Display) -> Problem {
        Problem::NotQueued(format!("Not saved: {reason}."))
    }

    /// What an outcome that is not a success says, in words (empty for a success).
    pub fn describe(outcome: Outcome, tz: &TimeZone) -> String {
        Problem::from_outcome(outcome)
            .map(|p| p.general_message(None, tz))
            .unwrap_or_default()
    }

    /// The message that belongs next to `field`, if any.
    pub fn field_message(&self, field: Field, tz: &TimeZone) -> Option<String> {
        match self {
            Problem::Fields(errors) => {
                let texts: Vec<String> = errors
                    .iter()
                    .filter(|e| e.field == field)
                    .map(|e| format!("{} {}", field.label(), e.message))
                    .collect();
                (!texts.is_empty()).then(|| texts.join("; "))
            }
            Problem::Conflict(c) if c.field == field => Some(c.message(tz)),
            _ => None,
        }
    }

    /// Whether [`field_message`](Self::field_message) has something for one of `fields`.
    pub fn concerns_any(&self, fields: &[Field]) -> bool {
        let tz = TimeZone::UTC;
        fields.iter().any(|f| self.field_message(*f, &tz).is_some())
    }

    /// The message for the form as a whole (what no single field shows). `base` is what the
    /// editor started from, to say what changed elsewhere.
    pub fn general_message(&self, base: Option<&Record>, tz: &TimeZone) -> String {
        match self {
            Problem::Fields(errors) => errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
            Problem::Conflict(c) => c.message(tz),
            Problem::Stale(current) => stale_message(base, current),
            Problem::DeletedElsewhere(_) => {
                "Moved to the Trash in another window since you opened it. Restore it from the Trash to edit it again.".to_owned()
            }
            Problem::Gone => "Deleted for good in another window since you opened it.".to_owned(),
            Problem::UnknownBarcode(b) => format!("No copy has barcode {b}."),
            Problem::Failed(f) => format!("Not saved: {f}."),
            Problem::NotQueued(text) => text.clone(),
        }
    }
}

/// "Changed in another window since you opened it: shelf mark is now 'QA76 .K5'".
pub fn stale_message(base: Option<&Record>, current: &Record) -> String {
    let head = "Changed in another window since you opened it";
    let Some(base) = base else {
        return format!("{head}.");
    };
    let before = base.fields();
    let changes: Vec<String> = current
        .fields()
        .into_iter()
        .zip(before)
        .filter(|((_, now), (_, then))| now != then)
        .map(|((field, now), _)| format!("{} is now '{now}'", field.label().to_lowercase()))
        .collect();
    if changes.is_empty() {
        format!("{head}.")
    } else {
        format!("{head}: {}", changes.join(", "))
    }
}

/// "1 copy", "4 copies", "10,000,000 copies": a count with its noun (see [`number`]).
pub fn count(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{} {many}", number(n))
    }
}

/// A whole number with its thousands grouped by commas, "10,499,257": a count of a big
/// library read at a glance, in the English of the rest of the window.
pub fn number(n: impl std::fmt::Display) -> String {
    let text = n.to_string();
    let (sign, digits) = text
        .strip_prefix('-')
        .map_or(("", text.as_str()), |rest| ("-", rest));
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return text;
    }
    let mut out = String::with_capacity(text.len() + digits.len() / 3);
    out.push_str(sign);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// `text` as the continuation of a sentence ("Cannot restore: there is already …"): its first
/// letter lower-cased, unless its first word names a record by its code ("Copy 0042 …",
/// "Barcode X1 …") or is an abbreviation ("ISBN …").
pub fn continuing(text: &str) -> String {
    let mut words = text.split_whitespace();
    let (Some(first), second) = (words.next(), words.next()) else {
        return text.to_owned();
    };
    let names_a_code = second.is_some_and(|w| w.chars().any(|c| c.is_ascii_digit()));
    let abbreviation = first.chars().filter(|c| c.is_uppercase()).count() > 1;
    let mut chars = text.chars();
    match chars.next() {
        Some(c) if c.is_uppercase() && !names_a_code && !abbreviation => {
            c.to_lowercase().chain(chars).collect()
        }
        _ => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::{count, number};

    #[test]
    fn big_numbers_are_grouped_by_thousands() {
        for (n, text) in [
            (0_i64, "0"),
            (7, "7"),
            (999, "999"),
            (1_000, "1,000"),
            (65_536, "65,536"),
            (100_000, "100,000"),
            (1_050_314, "1,050,314"),
            (10_499_257, "10,499,257"),
            (-1_234, "-1,234"),
        ] {
            assert_eq!(number(n), text);
        }
        assert_eq!(number(u64::MAX), "18,446,744,073,709,551,615");
        assert_eq!(count(1, "copy", "copies"), "1 copy");
        assert_eq!(count(10_000_000, "copy", "copies"), "10,000,000 copies");
    }
}
