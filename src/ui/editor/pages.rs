//! The editor's window onto a collection of any size: the collection's own record and how many
//! rows match (the head), and the rows themselves, fetched by key as one window around what the
//! table shows. Each is a [`Live`] query, so it follows the library's changes by itself.

use std::ops::Range;

use crate::model::{
    Collection, CollectionId, Failure, MARK_EVERY, PlacementRow, RowKey, SortKey, Window,
    WindowQuery, WindowStart,
};
use crate::tasks::Port;
use crate::ui::live::Live;

/// Rows fetched beyond the view, on each side.
pub const PAGE: usize = 100;

/// A collection this long gets marks; a shorter one is stepped through from the top.
const MARKS_FROM: usize = 5 * MARK_EVERY;

/// How far from the rows here the view may be and still be reached by walking from them.
const WALK: usize = 10 * PAGE;

/// What decides which rows are shown, and in which order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    pub filter: String,
    pub sort: SortKey,
    pub ascending: bool,
}

impl Default for Layout {
    fn default() -> Self {
        Layout {
            filter: String::new(),
            sort: SortKey::Added,
            ascending: false,
        }
    }
}

impl Layout {
    /// Sorts by `key`; the same key again flips the direction.
    pub fn sort_by(&mut self, key: SortKey) {
        if self.sort == key {
            self.ascending = !self.ascending;
        } else {
            self.sort = key;
            self.ascending = key != SortKey::Added;
        }
    }
}

/// The collection's own record and how many rows match the filter.
#[derive(Clone, Debug)]
pub struct Head {
    pub collection: Option<Collection>,
    pub total: usize,
}

/// What the rows are asked for: a window, and the index in the table its start row is shown
/// at.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Ask {
    query: WindowQuery,
    at: usize,
}

impl Ask {
    /// Whether this ask is for the rows of `layout`.
    fn is_for(&self, layout: &Layout) -> bool {
        let q = &self.query;
        q.filter == layout.filter && q.sort == layout.sort && q.ascending == layout.ascending
    }

    /// The table indices this ask is expected to bring.
    fn expected(&self) -> Range<usize> {
        self.at.saturating_sub(self.query.before)..self.at + self.query.after
    }
}

/// The marks of one order: where every [`MARK_EVERY`]th row starts, and how many rows there
/// were when they were asked for.
type MarksKey = (CollectionId, SortKey, u64);

/// The head and the rows around the view of one collection.
///
/// The rows are one window: a run of consecutive rows in the current order, fetched by key.
/// Scrolling walks from a row already here (the next window starts at it, so no row is ever
/// skipped or shown twice, however the collection changed meanwhile); a jump farther than a
/// walk (dragging the scroll bar) lands on the nearest of the order's marks, taken every
/// [`MARK_EVERY`] rows, and steps the rest of the way in the order's index. Marks are taken
/// again once the collection's size moved by a hundredth, so a jump lands close to where the
/// scroll bar says, and walking from there is exact.
#[derive(Debug)]
pub struct Pages {
    collection: CollectionId,
    pub layout: Layout,
    head: Live<(CollectionId, String), Head>,
    window: Live<Ask, Window>,
    /// The window asked for last.
    ask: Option<Ask>,
    marks: Live<MarksKey, Vec<RowKey>>,
    /// The size of the collection when the marks in use were asked for, and their round.
    marks_asked: Option<(usize, u64)>,
}

impl Pages {
    pub fn new(collection: CollectionId) -> Self {
        Pages {
            collection,
            layout: Layout::default(),
            head: Live::new(),
            window: Live::new(),
            ask: None,
            marks: Live::per_key(),
            marks_asked: None,
        }
    }

    /// The head as last loaded.
    pub fn head(&self) -> Option<&Head> {
        self.head.value()
    }

    /// Rows matching the filter, as last counted (0 until known).
    pub fn total(&self) -> usize {
        self.head().map_or(0, |h| h.total)
    }

    /// The rows here for the current layout, and the table index of the first.
    fn loaded(&self) -> Option<(usize, &Window)> {
        let (ask, window) = self.window.answered()?;
        if !ask.is_for(&self.layout) || ask.query.collection != self.collection {
            return None;
        }
        let base = if window.at_start {
            0
        } else if window.at_end {
            self.total().saturating_sub(window.rows.len())
        } else {
            ask.at.saturating_sub(window.before)
        };
        Some((base, window))
    }

    /// Takes in answers and asks for whatever is missing or out of date: the head, and the
    /// rows around `visible`. Returns true if the head was (re)loaded this frame.
    pub fn update(&mut self, port: &Port, visible: Range<usize>) -> bool {
        let head_key = (self.collection, self.layout.filter.clone());
        let head_arrived = self.head.update(port, &head_key, |(collection, filter)| {
            move |r| {
                Ok(Head {
                    collection: r.collection(collection)?,
                    total: r.placement_count(collection, &filter)?,
                })
            }
        });
        let total = self.total();
        if self.head().is_none() {
            return head_arrived;
        }
        self.update_marks(port, total);
        let start = visible.start.min(total.saturating_sub(1));
        let end = visible.end.clamp(start + 1, total.max(1));
        let ask = self.ask_for(start..end, total);
        self.window
            .update(port, &ask, |ask| move |r| r.placement_window(&ask.query));
        self.ask = Some(ask);
        head_arrived
    }

    /// Asks for the marks of the current order of a long collection, again when its size
    /// moved by more than a hundredth since.
    fn update_marks(&mut self, port: &Port, total: usize) {
        if !self.layout.filter.trim().is_empty() || total < MARKS_FROM {
            return;
        }
        let round = match self.marks_asked {
            Some((asked, round)) if asked.abs_diff(total) <= total / 100 => round,
            Some((_, round)) => {
                self.marks_asked = Some((total, round + 1));
                round + 1
            }
            None => {
                self.marks_asked = Some((total, 0));
                0
            }
        };
        let key = (self.collection, self.layout.sort, round);
        self.marks.update(port, &key, |(collection, sort, _)| {
            move |r| r.order_marks(collection, sort, MARK_EVERY)
        });
    }

    /// The marks of the current order, if here.
    fn marks(&self) -> Option<&[RowKey]> {
        let ((collection, sort, _), marks) = self.marks.answered()?;
        (*collection == self.collection && *sort == self.layout.sort && !marks.is_empty())
            .then_some(marks.as_slice())
    }

    /// The window that shows `visible` (the rows here, while they do; else a walk from them,
    /// or a jump).
    fn ask_for(&self, visible: Range<usize>, total: usize) -> Ask {
        // What must be here to keep what is here: the view and a page on each side.
        let (keep_lo, keep_hi) = (
            visible.start.saturating_sub(PAGE),
            (visible.end + PAGE).min(total),
        );
        // Rows here that show the view with some to spare: keep them (and keep them fresh).
        if let (Some((base, w)), Some(ask)) = (self.loaded(), self.window.answered().map(|a| a.0)) {
            let end = base + w.rows.len();
            let top_ok = w.at_start || base <= keep_lo;
            let bottom_ok = w.at_end || end >= keep_hi;
            if top_ok && bottom_ok && !w.rows.is_empty() {
                return ask.clone();
            }
        }
        // A window on its way that will show it: wait for it.
        if let Some(ask) = &self.ask
            && ask.is_for(&self.layout)
            && ask.query.collection == self.collection
        {
            let expected = ask.expected();
            if expected.start <= visible.start && (expected.end >= visible.end || keep_hi >= total)
            {
                let coming = self.window.answered().is_none_or(|(k, _)| k != ask);
                if coming {
                    return ask.clone();
                }
            }
        }
        let query = |start, before, after| WindowQuery {
            collection: self.collection,
            filter: self.layout.filter.clone(),
            sort: self.layout.sort,
            ascending: self.layout.ascending,
            start,
            before,
            after,
        };
        // What a new window asks for: the view and two pages on each side.
        let (lo, hi) = (
            visible.start.saturating_sub(2 * PAGE),
            visible.end + 2 * PAGE,
        );
        // Walk from the nearest row here.
        if let Some((base, w)) = self.loaded()
            && !w.rows.is_empty()
            && visible.start + WALK >= base
            && visible.start < base + w.rows.len() + WALK
        {
            let i = visible.start.clamp(base, base + w.rows.len() - 1);
            let row = w.rows[i - base].0.clone();
            return Ask {
                query: query(
                    WindowStart::From { row, skip: 0 },
                    i.saturating_sub(lo),
                    hi.saturating_sub(i).max(1),
                ),
                at: i,
            };
        }
        // Jump: from the mark nearest below, or by stepping from the top.
        let at = visible.start.saturating_sub(PAGE);
        let after = hi - at;
        let start = self
            .marks()
            .and_then(|marks| WindowStart::landing(marks, at, total, self.layout.ascending))
            .unwrap_or(WindowStart::Top { skip: at });
        Ask {
            query: query(start, 0, after),
            at,
        }
    }

    /// Row `index` in the current layout, if it is here.
    pub fn row(&self, index: usize) -> Option<&PlacementRow> {
        let (base, w) = self.loaded()?;
        w.rows.get(index.checked_sub(base)?).map(|(_, r)| r)
    }

    /// Where row `id` is in the current layout, among the rows that are here.
    pub fn index_of(&self, id: crate::model::PlacementId) -> Option<usize> {
        let (base, w) = self.loaded()?;
        w.rows
            .iter()
            .position(|(_, r)| r.id == id)
            .map(|i| base + i)
    }

    /// Why the head or the rows in view could not be read, if they could not (it goes once a
    /// read of them succeeds).
    pub fn error(&self) -> Option<&Failure> {
        self.head.error().or_else(|| self.window.error())
    }
}
