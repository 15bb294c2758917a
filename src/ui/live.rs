//! A live query: what a view shows, kept up to date. The view says each frame what it wants
//! (a key: the search text, a collection and its order…); the query is fetched again when the
//! key changes or the library changed (the change feed's generation grew). The last answer and
//! the last failure are kept with the key they answer, so the view never flickers while a
//! fresh answer is on its way, and never shows one key's answer as another's.
//!
//! Rules, in one place: an answer for another key is dropped (newest query wins); an answer
//! for the current key is shown even if the library changed meanwhile (then it is fetched once
//! more); a failure is not retried until the key or the library changes (no spinning).

use crate::db::{DbError, Reads};
use crate::model::Failure;
use crate::tasks::{Pending, Port, ReadResult, Taken};

/// One query kept up to date. `K` says what is asked; `T` is the answer.
#[derive(Debug)]
pub struct Live<K, T> {
    /// The key and generation of what was last answered (value or failure).
    loaded: Option<(K, u64)>,
    value: Option<(K, T)>,
    error: Option<(K, Failure)>,
    /// The key the view asked for last.
    wanted: Option<K>,
    in_flight: Option<(K, u64, Pending<ReadResult<T>>)>,
    /// Whether a change of the library asks again (false: only a new key does).
    follows_changes: bool,
}

impl<K, T> Default for Live<K, T> {
    fn default() -> Self {
        Live {
            loaded: None,
            value: None,
            error: None,
            wanted: None,
            in_flight: None,
            follows_changes: true,
        }
    }
}

impl<K: Clone + PartialEq + Send + 'static, T: Send + 'static> Live<K, T> {
    /// A query that follows the library's changes.
    pub fn new() -> Self {
        Self::default()
    }

    /// A query asked again only when its key changes (lookups while typing, which need not
    /// follow every save).
    pub fn per_key() -> Self {
        Live {
            follows_changes: false,
            ..Self::default()
        }
    }

    /// Takes in an answer that arrived, then asks again if `key` at the port's generation is
    /// not what is shown or on its way. `query` makes the read for a key. Returns true if a
    /// new answer was taken in this frame.
    pub fn update<F>(&mut self, port: &Port, key: &K, query: impl FnOnce(K) -> F) -> bool
    where
        F: FnOnce(&mut dyn Reads) -> Result<T, DbError> + Send + 'static,
    {
        if self.wanted.as_ref() != Some(key) {
            self.wanted = Some(key.clone());
        }
        let arrived = self.take_answer(key);
        let generation = if self.follows_changes {
            port.generation()
        } else {
            0
        };
        let shown = self
            .loaded
            .as_ref()
            .is_some_and(|(k, g)| k == key && *g >= generation);
        // A fetch for this key that is merely older is let finish (its answer is shown), then
        // the newer one is asked for: under a stream of commits the view still gets answers.
        let coming = self.in_flight.as_ref().is_some_and(|(k, _, _)| k == key);
        if !shown && !coming {
            let pending = port.fetch(query(key.clone()));
            self.in_flight = Some((key.clone(), generation, pending));
        }
        arrived
    }

    fn take_answer(&mut self, key: &K) -> bool {
        let Some((_, _, pending)) = &self.in_flight else {
            return false;
        };
        let answer = match pending.try_take() {
            Taken::Ready(a) => a,
            Taken::Abandoned => Err(Failure::stopped()),
            Taken::Waiting => return false,
        };
        let Some((k, generation, _)) = self.in_flight.take() else {
            return false;
        };
        if &k != key {
            return false; // asked for something else meanwhile
        }
        match answer {
            Ok(v) => {
                self.value = Some((k.clone(), v));
                self.error = None;
            }
            Err(f) => self.error = Some((k.clone(), f)),
        }
        self.loaded = Some((k, generation));
        true
    }

    /// The last answer, whatever key it was for (to keep showing something while a new key
    /// is fetched).
    pub fn value(&self) -> Option<&T> {
        self.value.as_ref().map(|(_, v)| v)
    }

    /// The last answer with the key it answers, whatever key is asked for now.
    pub fn answered(&self) -> Option<(&K, &T)> {
        self.value.as_ref().map(|(k, v)| (k, v))
    }

    /// The last answer, only if it is for `key`.
    pub fn value_for(&self, key: &K) -> Option<&T> {
        match &self.value {
            Some((k, v)) if k == key => Some(v),
            _ => None,
        }
    }

    /// Why the last read of the key last asked for failed, if it did.
    pub fn error(&self) -> Option<&Failure> {
        match (&self.error, &self.wanted) {
            (Some((k, f)), Some(w)) if k == w => Some(f),
            _ => None,
        }
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
