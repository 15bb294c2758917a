//! Many rows in one stream: `COPY table (columns) FROM STDIN` in PostgreSQL's text format, for
//! the bulk paths (a library file moved to a server, the seed generator). One round trip per
//! megabyte instead of one per row; the change log's statement triggers fire once per stream.

use std::io::Write as _;

use super::PgConn;
use crate::db::DbError;
use crate::db::engine::copy::Cell;

/// Bytes gathered before they are sent.
const FLUSH_AT: usize = 1 << 20;

/// Writes `rows` (each in `columns` order) into `table` inside the open transaction.
pub(crate) fn copy_in(
    conn: &mut PgConn,
    table: &str,
    columns: &[&str],
    rows: &[Vec<Cell>],
) -> Result<(), DbError> {
    if rows.is_empty() {
        return Ok(());
    }
    let sql = format!("COPY {table} ({}) FROM STDIN", columns.join(", "));
    let mut writer = conn.client.copy_in(sql.as_str())?;
    let mut buf = String::with_capacity(FLUSH_AT + 4096);
    let mut sent = Ok(());
    for row in rows {
        encode_row(&mut buf, row);
        if buf.len() >= FLUSH_AT {
            sent = writer.write_all(buf.as_bytes());
            buf.clear();
            if sent.is_err() {
                break;
            }
        }
    }
    if sent.is_ok() {
        sent = writer.write_all(buf.as_bytes());
    }
    match sent {
        Ok(()) => {
            writer.finish()?;
            Ok(())
        }
        // The server's own reason arrives with the end of the stream.
        Err(io) => match writer.finish() {
            Err(e) => Err(e.into()),
            Ok(_) => Err(DbError::Io {
                path: table.into(),
                source: io,
            }),
        },
    }
}

/// One line of COPY's text format: tab-separated, `\N` for NULL, backslash escapes.
fn encode_row(out: &mut String, row: &[Cell]) {
    for (i, cell) in row.iter().enumerate() {
        if i > 0 {
            out.push('\t');
        }
        match cell {
            Cell::Null => out.push_str("\\N"),
            Cell::Int(v) => {
                use std::fmt::Write as _;
                let _ = write!(out, "{v}");
            }
            Cell::Stamp(s) => out.push_str(&s.to_sql()),
            Cell::Text(t) => {
                for c in t.chars() {
                    match c {
                        '\\' => out.push_str("\\\\"),
                        '\t' => out.push_str("\\t"),
                        '\n' => out.push_str("\\n"),
                        '\r' => out.push_str("\\r"),
                        c => out.push(c),
                    }
                }
            }
        }
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_format_escapes_what_would_split_a_row() {
        let mut out = String::new();
        encode_row(
            &mut out,
            &[
                Cell::Int(7),
                Cell::Text("a\tb\nc\\d\re".into()),
                Cell::Null,
                Cell::Text(String::new()),
            ],
        );
        assert_eq!(out, "7\ta\\tb\\nc\\\\d\\re\t\\N\t\n");
    }
}
