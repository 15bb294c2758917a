//! Bulk loads on a shared library (the seed generator): one transaction on a connection of its
//! own, under the library's write lock like every write, committed at the end. Dropped
//! unfinished, it rolls back: nothing of it is ever visible.

use super::{PgConn, PgSession, WRITE_LOCK};
use crate::db::engine::write::{
    WriteTx, articles, insert_book_with, insert_collection, insert_copy, insert_placement,
};
use crate::db::{Bulk, DbError};
use crate::model::{
    BookId, CollectionId, CopyId, PlacementId, Stamp, ValidBook, ValidCollection, ValidCopy,
    ValidPlacement,
};

pub(crate) struct ServerBulk {
    conn: PgConn,
    articles: Vec<String>,
    by: String,
    open: bool,
}

impl ServerBulk {
    pub(crate) fn begin(mut conn: PgConn, by: &str) -> Result<Self, DbError> {
        conn.client.batch_execute("BEGIN")?;
        conn.client
            .execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK])?;
        let articles = articles(&PgSession::new(&mut conn))?;
        Ok(ServerBulk {
            conn,
            articles,
            by: by.to_owned(),
            open: true,
        })
    }
}

impl Drop for ServerBulk {
    fn drop(&mut self) {
        if self.open {
            let _ = self.conn.client.batch_execute("ROLLBACK");
        }
    }
}

impl Bulk for ServerBulk {
    fn insert_book(&mut self, book: &ValidBook, at: Stamp) -> Result<BookId, DbError> {
        let s = PgSession::new(&mut self.conn);
        let tx = WriteTx::new(&s, at, &self.by);
        Ok(BookId(insert_book_with(&tx, book, &self.articles)?))
    }

    fn insert_copy(&mut self, copy: &ValidCopy, at: Stamp) -> Result<CopyId, DbError> {
        let s = PgSession::new(&mut self.conn);
        Ok(CopyId(insert_copy(&WriteTx::new(&s, at, &self.by), copy)?))
    }

    fn insert_collection(
        &mut self,
        collection: &ValidCollection,
        at: Stamp,
    ) -> Result<CollectionId, DbError> {
        let s = PgSession::new(&mut self.conn);
        Ok(CollectionId(insert_collection(
            &WriteTx::new(&s, at, &self.by),
            collection,
        )?))
    }

    fn insert_placement(
        &mut self,
        placement: &ValidPlacement,
        at: Stamp,
    ) -> Result<PlacementId, DbError> {
        let s = PgSession::new(&mut self.conn);
        Ok(PlacementId(insert_placement(
            &WriteTx::new(&s, at, &self.by),
            placement,
        )?))
    }

    fn finish(mut self: Box<Self>) -> Result<(), DbError> {
        self.conn.client.batch_execute("COMMIT")?;
        self.open = false;
        Ok(())
    }
}
