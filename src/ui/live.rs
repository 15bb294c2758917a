//! A live query: what a view shows, kept up to date. The view says each frame what it wants
//! (a key: the search text, a collection and its order…); the query is fetched again when the
//! key changes or the library changed (the change feed's generation grew). The last value and
//! the last failure are kept, so the view never flickers while a fresh answer is on its way.
//!
//! Rules, in one place: an answer for another key is dropped (newest query wins); an answer
//! for the current key is shown even if the library changed meanwhile (then it is fetched once
//! more); a failure is not retried until the key or the library changes (no spinning).

use crate::db::{DbError, Reads};
use crate::model::Failure;
use crate::tasks::{Pending, Port, ReadResult};

/// One query kept up to date. `K` says what is asked; `T` is the answer.
#[derive(Debug)]
pub struct Live<K, T> {
    /// The key and generation of what is shown (or of the failure shown).
    loaded: Option<(K, u64)>,
    value: Option<T>,
    error: Option<Failure>,
    in_flight: Option<(K, u64, Pending<ReadResult<T>>)>,
}

impl<K, T> Default for Live<K, T> {
    fn default() -> Self {
        Live {
            loaded: None,
            value: None,
            error: None,
            in_flight: None,
        }
    }
}

impl<K: Clone + PartialEq + Send + 'static, T: Send + 'static> Live<K, T> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes in an answer that arrived, then asks again if `key` at the port's generation is
    /// not what is shown or on its way. `query` makes the read for a key. Returns true if a
    /// new answer was taken in this frame.
    pub fn update<F>(&mut self, port: &Port, key: &K, query: impl FnOnce(K) -> F) -> bool
    where
        F: FnOnce(&mut dyn Reads) -> Result<T, DbError> + Send + 'static,
    {
        let arrived = self.take_answer(key);
        let generation = port.generation();
        let shown = self
            .loaded
            .as_ref()
            .is_some_and(|(k, g)| k == key && *g >= generation);
        let coming = self
            .in_flight
            .as_ref()
            .is_some_and(|(k, g, _)| k == key && *g >= generation);
        let same_key_coming = self.in_flight.as_ref().is_some_and(|(k, _, _)| k == key);
        // A fetch for this key that is merely older is let finish (its answer is shown), then
        // the newer one is asked for: under a stream of commits the view still gets answers.
        if !shown && !coming && !same_key_coming {
            let pending = port.fetch(query(key.clone()));
            self.in_flight = Some((key.clone(), generation, pending));
        }
        arrived
    }

    fn take_answer(&mut self, key: &K) -> bool {
        let Some((k, generation, pending)) = &self.in_flight else {
            return false;
        };
        let answer = match pending.poll() {
            Some(a) => a,
            None if pending.is_abandoned() => Err(Failure {
                kind: crate::model::FailureKind::Other,
                message: crate::tasks::STOPPED_TEXT.to_owned(),
            }),
            None => return false,
        };
        let (k, generation) = (k.clone(), *generation);
        self.in_flight = None;
        if &k != key {
            return false; // asked for something else meanwhile
        }
        match answer {
            Ok(v) => {
                self.value = Some(v);
                self.error = None;
            }
            Err(f) => self.error = Some(f),
        }
        self.loaded = Some((k, generation));
        true
    }

    /// The last answer (possibly for an earlier key or generation).
    pub fn value(&self) -> Option<&T> {
        self.value.as_ref()
    }

    /// The last answer, only if it is for `key`.
    pub fn value_for(&self, key: &K) -> Option<&T> {
        match &self.loaded {
            Some((k, _)) if k == key => self.value.as_ref(),
            _ => None,
        }
    }

    /// Why the last read failed, if it did (cleared by the next answer).
    pub fn error(&self) -> Option<&Failure> {
        self.error.as_ref()
    }

    /// The change-feed generation the shown answer was read at (or after).
    pub fn loaded_generation(&self) -> Option<u64> {
        self.loaded.as_ref().map(|(_, g)| *g)
    }

    /// Whether anything (value or failure) was ever loaded.
    pub fn is_loaded(&self) -> bool {
        self.loaded.is_some()
    }

    /// Whether a fetch is on its way.
    pub fn is_fetching(&self) -> bool {
        self.in_flight.is_some()
    }

    /// Forgets what is shown, so the next update fetches again (after a save of one's own, say).
    pub fn invalidate(&mut self) {
        self.loaded = None;
    }
}
