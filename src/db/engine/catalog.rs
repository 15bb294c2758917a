//! Named statements. Each backend keeps its SQL in one file of blocks:
//!
//! ```sql
//! -- name: live_copy_by_barcode
//! SELECT {cols:copy} FROM copies WHERE barcode = :barcode AND deleted_at IS NULL
//! ```
//!
//! A [`Catalog`] reads such a file once, and for each [`Stmt`] (a name, and for some the table or
//! the order it runs on) makes the text the backend runs: `{table}`, `{order}` and
//! `{cols:KIND[:ALIAS]}` filled in, comments dropped, and `:name` placeholders turned into the
//! backend's numbered ones (`?1` for SQLite, `$1` for PostgreSQL; `::type` casts are left
//! alone), remembering which name each number binds.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::RwLock;

use crate::db::DbError;
use crate::model::{Kind, SortKey};

macro_rules! queries {
    ($($variant:ident = $name:literal,)*) => {
        /// The name of a statement; its SQL is in each backend's `queries.sql`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub(crate) enum Q { $($variant,)* }

        impl Q {
            #[cfg(test)]
            pub(crate) const ALL: &[Q] = &[$(Q::$variant,)*];

            pub(crate) fn name(self) -> &'static str {
                match self { $(Q::$variant => $name,)* }
            }
        }
    };
}

queries! {
    BookById = "book_by_id",
    CopyById = "copy_by_id",
    CollectionById = "collection_by_id",
    PlacementById = "placement_by_id",
    LiveCopyByBarcode = "live_copy_by_barcode",
    LiveCollectionByKey = "live_collection_by_key",
    TrashedCollectionByKey = "trashed_collection_by_key",
    LiveBookByIsbn = "live_book_by_isbn",
    LivePlacement = "live_placement",
    IsLive = "is_live",
    GetSetting = "get_setting",
    PutSetting = "put_setting",
    InsertBook = "insert_book",
    InsertCopy = "insert_copy",
    InsertCollection = "insert_collection",
    InsertPlacement = "insert_placement",
    TitlesToRefile = "titles_to_refile",
    SetTitleKey = "set_title_key",
    ShelfMarksToRefile = "shelf_marks_to_refile",
    SetShelfKey = "set_shelf_key",
    UpdateBook = "update_book",
    UpdateCopy = "update_copy",
    UpdateCollection = "update_collection",
    UpdatePlacement = "update_placement",
    SoftDelete = "soft_delete",
    TrashCopiesOfBook = "trash_copies_of_book",
    TrashPlacementsOfTrashedCopies = "trash_placements_of_trashed_copies",
    TrashPlacementsOfCopy = "trash_placements_of_copy",
    TrashPlacementsOfCollection = "trash_placements_of_collection",
    CopiesTrashedWithBook = "copies_trashed_with_book",
    PlacementsTrashedWithBook = "placements_trashed_with_book",
    PlacementsTrashedWithCopy = "placements_trashed_with_copy",
    PlacementsTrashedWithCollection = "placements_trashed_with_collection",
    Untrash = "untrash",
    RenameTrashedCollection = "rename_trashed_collection",
    RebarcodeTrashedCopy = "rebarcode_trashed_copy",
    DropIsbnOfTrashedBook = "drop_isbn_of_trashed_book",
    MoveCopyToBook = "move_copy_to_book",
    Purge = "purge",
    IsbnOfBook = "isbn_of_book",
    BarcodeOfCopy = "barcode_of_copy",
    NameKeyOfCollection = "name_key_of_collection",
    PairOfPlacement = "pair_of_placement",
    HolderOfIsbn = "holder_of_isbn",
    HolderOfBarcode = "holder_of_barcode",
    HolderOfNameKey = "holder_of_name_key",
    HolderOfPlacement = "holder_of_placement",
    BookByTitleAuthors = "book_by_title_authors",
    BookByControl = "book_by_control",
    SetBookSource = "set_book_source",
    CollectionsWithCounts = "collections_with_counts",
    CollectionNames = "collection_names",
    CountLivePlacements = "count_live_placements",
    CountMatchingPlacements = "count_matching_placements",
    WindowRows = "window_rows",
    WindowRowsFrom = "window_rows_from",
    OrderKeyFirst = "order_key_first",
    OrderKeyFrom = "order_key_from",
    OrderTiesFrom = "order_ties_from",
    BooksContaining = "books_containing",
    SearchBooks = "search_books",
    LiveCopiesOfBook = "live_copies_of_book",
    CollectionsOfCopy = "collections_of_copy",
    Trash = "trash",
    IsEmpty = "is_empty",
    CountRows = "count_rows",
    ExportAll = "export_all",
    ExportCollection = "export_collection",
    ExportRecords = "export_records",
    DumpBooks = "dump_books",
    DumpCopies = "dump_copies",
    DumpCollections = "dump_collections",
    DumpPlacements = "dump_placements",
    DumpSettings = "dump_settings",
    LoadBook = "load_book",
    LoadCopy = "load_copy",
    LoadCollection = "load_collection",
    LoadPlacement = "load_placement",
    FinishLoad = "finish_load",
    RowsBooks = "rows_books",
    RowsCopies = "rows_copies",
    RowsCollections = "rows_collections",
    RowsPlacements = "rows_placements",
    UpsertBook = "upsert_book",
    UpsertCopy = "upsert_copy",
    UpsertCollection = "upsert_collection",
    UpsertPlacement = "upsert_placement",
}

/// A statement to run: its name, and the table or order it is written for (if its text has
/// `{table}` or `{order}`), and which of a seek's two parts it is (if it has `{seek}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Stmt {
    pub q: Q,
    pub table: Option<Kind>,
    pub order: Option<(SortKey, bool)>,
    /// `{seek}` is the rows tied with the row on the key (from its id on), not those past it.
    pub tied: bool,
}

impl From<Q> for Stmt {
    fn from(q: Q) -> Stmt {
        Stmt {
            q,
            table: None,
            order: None,
            tied: false,
        }
    }
}

impl Q {
    /// This statement on the table of `kind`.
    pub(crate) fn on(self, kind: Kind) -> Stmt {
        Stmt {
            table: Some(kind),
            ..Stmt::from(self)
        }
    }

    /// This statement in an order of the collection editor.
    pub(crate) fn ordered(self, sort: SortKey, ascending: bool) -> Stmt {
        Stmt {
            order: Some((sort, ascending)),
            ..Stmt::from(self)
        }
    }
}

impl Stmt {
    /// This statement's `{seek}` as the rows tied with the row on the key, from its id on.
    pub(crate) fn tied(self) -> Stmt {
        Stmt { tied: true, ..self }
    }
}

/// A record's columns, in the order [`super::read`] reads them.
pub(crate) fn columns(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Book => &[
            "id",
            "title",
            "authors",
            "isbn",
            "publisher",
            "year",
            "nonfiling",
            "version",
            "created_at",
            "updated_at",
            "deleted_at",
            "updated_by",
        ],
        Kind::Copy => &[
            "id",
            "book_id",
            "barcode",
            "version",
            "created_at",
            "updated_at",
            "deleted_at",
            "updated_by",
        ],
        Kind::Collection => &[
            "id",
            "name",
            "description",
            "version",
            "created_at",
            "updated_at",
            "deleted_at",
            "updated_by",
        ],
        Kind::Placement => &[
            "id",
            "copy_id",
            "collection_id",
            "shelf_mark",
            "note",
            "version",
            "created_at",
            "updated_at",
            "deleted_at",
            "updated_by",
        ],
    }
}

/// The key column of a collection editor's order, over `placements p`. Every key is a stored,
/// bytewise-compared column of placements (title and barcode are kept copies of the book's and
/// the copy's), so both backends sort alike and each order is an index.
pub(crate) fn order_key(sort: SortKey) -> &'static str {
    match sort {
        SortKey::ShelfMark => "p.shelf_key",
        SortKey::Title => "p.title_key",
        SortKey::Barcode => "p.copy_barcode",
        SortKey::Added => "p.created_at",
    }
}

/// The ORDER BY list of a collection editor's order; the id breaks ties so windows never
/// overlap.
pub(crate) fn order_by(sort: SortKey, ascending: bool) -> String {
    let dir = if ascending { "ASC" } else { "DESC" };
    format!("{} {dir}, p.id {dir}", order_key(sort))
}

/// How a backend numbers its placeholders.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Placeholders {
    /// `?1`, `?2`, … (SQLite)
    Question,
    /// `$1`, `$2`, … (PostgreSQL)
    Dollar,
}

/// A statement's text as the backend runs it, and the parameter name of each number.
#[derive(Debug)]
pub(crate) struct Sql {
    pub text: String,
    pub names: Vec<&'static str>,
}

/// One backend's statements.
#[derive(Debug)]
pub(crate) struct Catalog {
    texts: HashMap<&'static str, &'static str>,
    style: Placeholders,
    made: RwLock<HashMap<Stmt, Arc<Sql>>>,
}

impl Catalog {
    /// Reads a `queries.sql` file (see the module docs). A block's name is the text after
    /// `-- name:`; the block runs to the next name.
    pub(crate) fn parse(source: &'static str, style: Placeholders) -> Catalog {
        let mut texts = HashMap::new();
        let mut rest = source;
        while let Some(at) = rest.find("-- name:") {
            let block = &rest[at + "-- name:".len()..];
            let (name, body) = block.split_once('\n').unwrap_or((block, ""));
            let end = body.find("-- name:").unwrap_or(body.len());
            texts.insert(name.trim(), &body[..end]);
            rest = &body[end..];
        }
        Catalog {
            texts,
            style,
            made: RwLock::new(HashMap::new()),
        }
    }

    /// The names this file defines.
    #[cfg(test)]
    pub(crate) fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.texts.keys().copied()
    }

    /// The text to run for `stmt`, made once and kept.
    pub(crate) fn get(&self, stmt: Stmt) -> Result<Arc<Sql>, DbError> {
        if let Some(sql) = self.made.read().get(&stmt) {
            return Ok(Arc::clone(sql));
        }
        let raw = self
            .texts
            .get(stmt.q.name())
            .ok_or_else(|| DbError::Data(format!("no SQL for {}", stmt.q.name())))?;
        let sql = Arc::new(translate(&fill(raw, stmt)?, self.style));
        self.made.write().insert(stmt, Arc::clone(&sql));
        Ok(sql)
    }
}

/// Fills in `{table}`, `{order}`, `{key}`, `{seek}` and `{cols:KIND[:ALIAS]}`.
fn fill(raw: &str, stmt: Stmt) -> Result<String, DbError> {
    let missing = |what: &str| DbError::Data(format!("{} needs {what}", stmt.q.name()));
    let mut out = String::with_capacity(raw.len() + 64);
    let mut rest = raw;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..]
            .find('}')
            .ok_or_else(|| missing("a closing brace"))?
            + open;
        let token = &rest[open + 1..close];
        match token.split(':').collect::<Vec<_>>().as_slice() {
            ["table"] => out.push_str(stmt.table.ok_or_else(|| missing("a table"))?.table()),
            ["order"] => {
                let (sort, ascending) = stmt.order.ok_or_else(|| missing("an order"))?;
                out.push_str(&order_by(sort, ascending));
            }
            ["key"] => {
                let (sort, _) = stmt.order.ok_or_else(|| missing("an order"))?;
                out.push_str(order_key(sort));
            }
            // From the row (:key, :id) on, in the order's direction, in two seeks into the
            // order's index (SQLite seeks a row value by its first column alone, and would walk
            // every tie of the key): the rows tied with it from its id on, then those past it.
            ["seek"] => {
                let (sort, ascending) = stmt.order.ok_or_else(|| missing("an order"))?;
                let key = order_key(sort);
                let (ge, gt) = if ascending { (">=", ">") } else { ("<=", "<") };
                let seek = if stmt.tied {
                    [key, " = :key AND p.id ", ge, " :id"]
                } else {
                    [key, " ", gt, " :key"]
                };
                out.extend(seek);
            }
            ["cols", kind, alias @ ..] => {
                let kind = match *kind {
                    "book" => Kind::Book,
                    "copy" => Kind::Copy,
                    "collection" => Kind::Collection,
                    "placement" => Kind::Placement,
                    other => return Err(missing(&format!("a known kind, not {other}"))),
                };
                let prefix = alias.first().map(|a| format!("{a}.")).unwrap_or_default();
                let list: Vec<String> = columns(kind)
                    .iter()
                    .map(|c| format!("{prefix}{c}"))
                    .collect();
                out.push_str(&list.join(", "));
            }
            _ => return Err(missing(&format!("a known template, not {{{token}}}"))),
        }
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Drops comments and numbers the `:name` placeholders (outside quotes); a name used twice
/// keeps its number.
fn translate(text: &str, style: Placeholders) -> Sql {
    let mut out = String::with_capacity(text.len());
    let mut names: Vec<&'static str> = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'\'' | b'"' => {
                // Copy the quoted text as it is ('' inside a string is two quotes in a row,
                // which this loop copies as an end and a new start).
                let end = text[i + 1..]
                    .find(char::from(c))
                    .map_or(text.len(), |e| i + 2 + e);
                out.push_str(&text[i..end]);
                i = end;
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                i = text[i..].find('\n').map_or(text.len(), |e| i + e);
            }
            b':' if bytes.get(i + 1) == Some(&b':') => {
                out.push_str("::");
                i += 2;
            }
            b':' if bytes
                .get(i + 1)
                .is_some_and(|b| b.is_ascii_lowercase() || *b == b'_') =>
            {
                let start = i + 1;
                let mut end = start;
                while end < bytes.len()
                    && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_')
                {
                    end += 1;
                }
                let name = &text[start..end];
                let number = if let Some(p) = names.iter().position(|n| *n == name) {
                    p + 1
                } else {
                    // Names are few and live as long as the program.
                    names.push(Box::leak(name.to_owned().into_boxed_str()));
                    names.len()
                };
                out.push(match style {
                    Placeholders::Question => '?',
                    Placeholders::Dollar => '$',
                });
                out.push_str(&number.to_string());
                i = end;
            }
            _ => {
                let ch = text[i..].chars().next().unwrap_or(' ');
                out.push(ch);
                i += ch.len_utf8();
            }
        }
    }
    Sql {
        text: out.trim().to_owned(),
        names,
    }
}

/// Checks that a backend's file defines every statement, and nothing else.
#[cfg(test)]
pub(crate) fn assert_complete(catalog: &Catalog, file: &str) {
    let mut missing: Vec<&str> = Q::ALL
        .iter()
        .map(|q| q.name())
        .filter(|n| !catalog.texts.contains_key(n))
        .collect();
    missing.sort_unstable();
    assert!(missing.is_empty(), "{file} lacks {missing:?}");
    let mut extra: Vec<&str> = catalog
        .names()
        .filter(|n| !Q::ALL.iter().any(|q| q.name() == *n))
        .collect();
    extra.sort_unstable();
    assert!(extra.is_empty(), "{file} defines unused {extra:?}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_once_and_casts_and_quotes_are_left_alone() {
        let sql = translate(
            "SELECT :a, ':b', :a::text -- :c\n, x::int, \"q:d\", :e_2",
            Placeholders::Dollar,
        );
        assert_eq!(
            sql.text,
            "SELECT $1, ':b', $1::text \n, x::int, \"q:d\", $2"
        );
        assert_eq!(sql.names, vec!["a", "e_2"]);
        let sql = translate(
            "WHERE x LIKE :p ESCAPE '\\' AND y = :q",
            Placeholders::Question,
        );
        assert_eq!(sql.text, "WHERE x LIKE ?1 ESCAPE '\\' AND y = ?2");
    }

    #[test]
    fn templates_are_filled() {
        let stmt = Q::SoftDelete.on(Kind::Copy);
        assert_eq!(
            fill("UPDATE {table} SET", stmt).unwrap(),
            "UPDATE copies SET"
        );
        let stmt = Q::WindowRowsFrom.ordered(SortKey::Title, true);
        assert_eq!(
            fill("{seek} ORDER BY {order}", stmt).unwrap(),
            "p.title_key > :key ORDER BY p.title_key ASC, p.id ASC"
        );
        let stmt = Q::WindowRowsFrom.ordered(SortKey::Added, false).tied();
        assert_eq!(
            fill("{seek} ORDER BY {order}", stmt).unwrap(),
            "p.created_at = :key AND p.id <= :id ORDER BY p.created_at DESC, p.id DESC"
        );
        let cols = fill("{cols:copy:c}", Stmt::from(Q::CopyById)).unwrap();
        assert!(cols.starts_with("c.id, c.book_id, c.barcode"), "{cols}");
        assert!(fill("{table}", Stmt::from(Q::Purge)).is_err());
    }

    #[test]
    fn blocks_are_split_by_name() {
        let c = Catalog::parse(
            "-- header\n-- name: a\nSELECT 1\n\n-- name: b\n-- a comment\nSELECT :x\n",
            Placeholders::Question,
        );
        assert_eq!(c.get(Q::BookById.into()).ok().map(|s| s.text.clone()), None);
        let mut names: Vec<_> = c.names().collect();
        names.sort_unstable();
        assert_eq!(names, vec!["a", "b"]);
    }
}
