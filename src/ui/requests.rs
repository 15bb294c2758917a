//! The request tracker: a view submits a save with the purpose it is for, and the tracker
//! routes what comes back — "waiting for the lock" notices and the final outcome — to that
//! purpose. An answer to a request the view no longer tracks (its form was cancelled or
//! replaced) is dropped here, in one place.
//!
//! [`SaveState`] is what a form shows about its save: nothing, saving (maybe waiting), or the
//! problem of the last attempt.

use std::collections::HashMap;
use std::time::Instant;

use crate::model::{Op, Outcome, Problem, Wait};
use crate::tasks::{Event, Port, RequestId};

/// Where a form's save stands.
#[derive(Clone, Debug, Default)]
pub enum SaveState {
    #[default]
    Idle,
    /// Sent to the executor; not answered yet.
    Saving {
        request: RequestId,
        /// Since when and why it waits, once the executor said so.
        waiting: Option<(Instant, Wait)>,
    },
    /// The last save did not happen, and why.
    Problem(Problem),
}

impl SaveState {
    pub fn is_saving(&self) -> bool {
        matches!(self, SaveState::Saving { .. })
    }

    pub fn request(&self) -> Option<RequestId> {
        match self {
            SaveState::Saving { request, .. } => Some(*request),
            _ => None,
        }
    }

    pub fn problem(&self) -> Option<&Problem> {
        match self {
            SaveState::Problem(p) => Some(p),
            _ => None,
        }
    }

    /// Why the save is waiting (another program's lock, the server away), if it is.
    pub fn waiting(&self) -> Option<Wait> {
        match self {
            SaveState::Saving {
                waiting: Some((_, reason)),
                ..
            } => Some(*reason),
            _ => None,
        }
    }

    /// The librarian changed a field: a message about what was typed (a rule it broke, a value
    /// that is taken, a save that could not be queued) no longer describes it and goes. What
    /// describes the record (changed or deleted elsewhere) stays until it is resolved.
    pub fn edited(&mut self) {
        if matches!(
            self,
            SaveState::Problem(Problem::Fields(_) | Problem::Conflict(_) | Problem::NotQueued(_))
        ) {
            *self = SaveState::Idle;
        }
    }

    /// Notes that `request` is waiting, if it is this state's save.
    pub fn mark_waiting(&mut self, request: RequestId, since: Instant, reason: Wait) {
        if let SaveState::Saving {
            request: r,
            waiting,
        } = self
            && *r == request
        {
            *waiting = Some((since, reason));
        }
    }

    /// Puts the outcome of `request` here, if it is this state's save; returns the outcome if
    /// it was a success (for the caller to act on), and keeps the problem otherwise.
    pub fn settle(&mut self, request: RequestId, outcome: Outcome) -> Option<Outcome> {
        if self.request() != Some(request) {
            return None;
        }
        match Problem::from_outcome(outcome.clone()) {
            None => {
                *self = SaveState::Idle;
                Some(outcome)
            }
            Some(p) => {
                *self = SaveState::Problem(p);
                None
            }
        }
    }
}

/// One answer routed to the purpose its request was made for.
#[derive(Debug)]
pub struct Routed<P> {
    pub request: RequestId,
    pub purpose: P,
    pub event: Event,
}

/// The saves a view has in flight, each with what it is for.
#[derive(Debug)]
pub struct Requests<P> {
    open: HashMap<RequestId, P>,
}

impl<P> Default for Requests<P> {
    fn default() -> Self {
        Requests {
            open: HashMap::new(),
        }
    }
}

impl<P: Clone> Requests<P> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Queues `op` for `purpose`; returns the state its form shows: saving, or why it could
    /// not even be queued.
    pub fn submit(&mut self, port: &Port, op: Op, purpose: P) -> SaveState {
        match port.submit(op) {
            Ok(request) => {
                self.open.insert(request, purpose);
                SaveState::Saving {
                    request,
                    waiting: None,
                }
            }
            Err(e) => SaveState::Problem(Problem::from(&e)),
        }
    }

    /// What arrived for this view's requests since the last call, in order. A final outcome
    /// ends its request; answers to requests no longer tracked are dropped.
    pub fn poll(&mut self, port: &Port) -> Vec<Routed<P>> {
        port.replies()
            .into_iter()
            .filter_map(|reply| {
                let purpose = match reply.event {
                    Event::Done(_) => self.open.remove(&reply.request)?,
                    Event::Waiting { .. } => self.open.get(&reply.request)?.clone(),
                };
                Some(Routed {
                    request: reply.request,
                    purpose,
                    event: reply.event,
                })
            })
            .collect()
    }

    /// Stops tracking `request` (its form went away); its answer will be dropped.
    pub fn forget(&mut self, request: Option<RequestId>) {
        if let Some(r) = request {
            self.open.remove(&r);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.open.is_empty()
    }
}
