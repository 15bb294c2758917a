//! The editor's window onto a collection of any size: the collection's own record and how many
//! rows match (the head), and the rows themselves, fetched a page at a time around what the
//! table shows. Each is a [`Live`] query, so it follows the library's changes by itself.

use std::collections::HashMap;
use std::ops::Range;

use crate::model::{Collection, CollectionId, Failure, PageQuery, PlacementRow, SortKey};
use crate::tasks::Port;
use crate::ui::live::Live;

/// Rows fetched per page.
pub const PAGE: usize = 100;

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

/// The head and the pages of one collection.
#[derive(Debug)]
pub struct Pages {
    collection: CollectionId,
    pub layout: Layout,
    head: Live<(CollectionId, String), Head>,
    pages: HashMap<usize, Live<Layout, Vec<PlacementRow>>>,
    /// The pages asked for last (around what the table shows).
    in_view: Range<usize>,
}

impl Pages {
    pub fn new(collection: CollectionId) -> Self {
        Pages {
            collection,
            layout: Layout::default(),
            head: Live::new(),
            pages: HashMap::new(),
            in_view: 0..0,
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

    /// Takes in answers and asks for whatever is missing or out of date: the head, and the
    /// pages around `visible`. Returns true if the head was (re)loaded this frame.
    pub fn update(&mut self, port: &Port, visible: Range<usize>) -> bool {
        if self.total() == 0 {
            self.in_view = 0..0;
        }
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
        if total == 0 {
            return head_arrived;
        }
        let first = visible.start / PAGE;
        let last = (visible.end.max(visible.start + 1) - 1).min(total - 1) / PAGE;
        let collection = self.collection;
        self.in_view = first.saturating_sub(1)..last + 2;
        for page in first.saturating_sub(1)..=last + 1 {
            if page * PAGE >= total {
                break;
            }
            self.pages
                .entry(page)
                .or_default()
                .update(port, &self.layout, |layout| {
                    move |r| {
                        r.placement_page(&PageQuery {
                            collection,
                            filter: layout.filter,
                            sort: layout.sort,
                            ascending: layout.ascending,
                            offset: page * PAGE,
                            limit: PAGE,
                        })
                    }
                });
        }
        head_arrived
    }

    /// Row `index` in the current layout, if its page is here.
    pub fn row(&self, index: usize) -> Option<&PlacementRow> {
        self.pages
            .get(&(index / PAGE))?
            .value_for(&self.layout)?
            .get(index % PAGE)
    }

    /// Where row `id` is in the current layout, among the pages that are here.
    pub fn index_of(&self, id: crate::model::PlacementId) -> Option<usize> {
        self.pages.iter().find_map(|(page, live)| {
            live.value_for(&self.layout)?
                .iter()
                .position(|r| r.id == id)
                .map(|pos| page * PAGE + pos)
        })
    }

    /// Why the head or a page in view could not be read, if one could not (it goes once a
    /// read of it succeeds).
    pub fn error(&self) -> Option<&Failure> {
        self.head.error().or_else(|| {
            self.in_view
                .clone()
                .find_map(|page| self.pages.get(&page).and_then(Live::error))
        })
    }
}
