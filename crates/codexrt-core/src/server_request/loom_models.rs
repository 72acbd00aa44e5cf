//! Loom models of a server request's one answer (`cargo xtask loom`): the
//! user's handle or a hook answers while the deadline, the server's
//! `serverRequest/resolved`, and shutdown (or the closed connection) settle
//! the request, in every interleaving loom finds.
//!
//! Covered, as the real code: the [`Slot`] (its lock, `answer`, `settle`,
//! `answer_safely`) and the `decision` recorded on the request's span,
//! read back by a small subscriber. The responder is a stand-in that
//! records what would go on the wire, including the internal error a real
//! responder sends when dropped unanswered. Not covered: how the deadline
//! queue, the router's registry and shutdown find the slot (each racer here
//! holds it), and the rpc layer's [`Responder`](codexrt_rpc::Responder),
//! whose one reply is its consumption by value.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use codexrt_protocol::methods;
use codexrt_rpc::RequestId;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Dispatch, Event, Metadata, Span, Subscriber};

use super::{Reply, Settled, Slot};
use crate::CoreError;
use crate::safe_answer::SafeAnswer;

/// What reached the wire for the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wire {
    /// The safe answer of its kind (a decline).
    Safe,
    /// The hook's approval.
    Accept,
    /// A responder dropped without an answer.
    InternalError,
}

/// Records what it sends; a real responder's drop without an answer is an
/// internal error on the wire.
struct WireRecorder {
    id: RequestId,
    wire: Arc<Mutex<Vec<Wire>>>,
    done: bool,
}

impl WireRecorder {
    fn push(&mut self, sent: Wire) {
        self.done = true;
        self.wire.lock().unwrap().push(sent);
    }

    fn accept(mut self) {
        self.push(Wire::Accept);
    }
}

impl Reply for WireRecorder {
    fn method(&self) -> &str {
        methods::ITEM_COMMAND_EXECUTION_REQUEST_APPROVAL
    }

    fn id(&self) -> &RequestId {
        &self.id
    }

    fn send_safe(mut self, _safe: &SafeAnswer) {
        self.push(Wire::Safe);
    }

    fn abandon(mut self) {
        self.done = true;
    }
}

impl Drop for WireRecorder {
    fn drop(&mut self) {
        if !self.done {
            self.push(Wire::InternalError);
        }
    }
}

/// The `decision` each span recorded, by span id; spans get ids unique to
/// the process, so models running at once do not mix.
static DECISIONS: Mutex<Option<HashMap<u64, Vec<String>>>> = Mutex::new(None);

/// A subscriber that only hands out span ids and keeps their `decision`.
struct Decisions {
    next: AtomicU64,
}

struct DecisionOf(u64);

impl Visit for DecisionOf {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "decision" {
            let mut decisions = DECISIONS.lock().unwrap();
            let entry = decisions.get_or_insert_with(HashMap::new).entry(self.0);
            entry.or_default().push(format!("{value:?}"));
        }
    }
}

impl Subscriber for Decisions {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target().starts_with("codexrt")
    }

    fn new_span(&self, _span: &Attributes<'_>) -> Id {
        Id::from_u64(self.next.fetch_add(1, Ordering::Relaxed))
    }

    fn record(&self, span: &Id, values: &Record<'_>) {
        values.record(&mut DecisionOf(span.into_u64()));
    }

    fn record_follows_from(&self, _span: &Id, _follows: &Id) {}

    fn event(&self, _event: &Event<'_>) {}

    fn enter(&self, _span: &Id) {}

    fn exit(&self, _span: &Id) {}
}

fn recorded(span: &Span) -> Vec<String> {
    let id = span.id().expect("the subscriber takes the span").into_u64();
    let decisions = DECISIONS.lock().unwrap();
    decisions
        .as_ref()
        .and_then(|decisions| decisions.get(&id).cloned())
        .unwrap_or_default()
}

/// The request's span, made under the [`Decisions`] subscriber (loom sets
/// a default subscriber of its own in a model, so no global one would do).
fn traced_span() -> Span {
    static DISPATCH: OnceLock<Dispatch> = OnceLock::new();
    let dispatch = DISPATCH.get_or_init(|| {
        Dispatch::new(Decisions {
            next: AtomicU64::new(1),
        })
    });
    tracing::dispatcher::with_default(dispatch, || {
        crate::spans::server_request(
            &Span::none(),
            methods::ITEM_COMMAND_EXECUTION_REQUEST_APPROVAL,
            &RequestId::Integer(0),
        )
    })
}

/// What the user's side does with the request.
#[derive(Debug, Clone, Copy)]
enum User {
    /// A hook approves it, through `Slot::answer` as `respond` does.
    Accepts,
    /// The handle is dropped unanswered.
    Drops,
}

/// Who may have answered, and the decision each records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Winner {
    User(&'static str),
    Runtime(Settled),
}

fn decision(winner: Winner) -> &'static str {
    match winner {
        Winner::User(decision) => decision,
        Winner::Runtime(settled) => settled.decision(),
    }
}

/// The user and the runtime's settlers race on one request; checks every
/// interleaving.
fn check(user: User, last: Settled) {
    loom::model(move || {
        let wire = Arc::new(Mutex::new(Vec::new()));
        let responder = WireRecorder {
            id: RequestId::Integer(0),
            wire: Arc::clone(&wire),
            done: false,
        };
        let slot = Slot::new(responder, traced_span());

        let user_thread = {
            let slot = Arc::clone(&slot);
            loom::thread::spawn(move || match user {
                User::Accepts => Some(slot.answer(
                    || Some("accept".to_owned()),
                    |responder| {
                        responder.accept();
                        Ok(())
                    },
                )),
                User::Drops => {
                    slot.answer_safely();
                    None
                }
            })
        };
        let settlers: Vec<_> = [Settled::DeadlineElapsed, Settled::Resolved]
            .into_iter()
            .map(|reason| {
                let slot = Arc::clone(&slot);
                loom::thread::spawn(move || slot.settle(reason).then_some(reason))
            })
            .collect();
        let mut settled: Vec<Settled> = slot.settle(last).then_some(last).into_iter().collect();
        for settler in settlers {
            settled.extend(settler.join().unwrap());
        }
        let answered = user_thread.join().unwrap();

        let wire = wire.lock().unwrap().clone();
        let decisions = recorded(&slot.span);
        assert!(!slot.is_waiting(), "the request still waits");
        // Exactly one answered, and it recorded its decision, once.
        let winner = match (&answered, settled.as_slice()) {
            (Some(Ok(())), []) => Winner::User("accept"),
            (None, []) => Winner::User("safe"),
            (Some(Err(_)) | None, [settled]) => Winner::Runtime(*settled),
            other => panic!("{user:?}: not one answer: {other:?}"),
        };
        assert_eq!(
            decisions,
            [decision(winner)],
            "{user:?}: decisions recorded"
        );
        // The wire carries the answer of whoever won: one reply, none for a
        // request the server resolved, and an approval only when the hook's
        // decision won.
        let expected: &[Wire] = match winner {
            Winner::User("accept") => &[Wire::Accept],
            Winner::Runtime(Settled::Resolved) => &[],
            Winner::User(_) | Winner::Runtime(_) => &[Wire::Safe],
        };
        assert_eq!(wire, expected, "{user:?}: on the wire, {winner:?} won");
        // A hook that lost learns who settled the request.
        if let (Some(Err(error)), Winner::Runtime(reason)) = (&answered, winner) {
            assert!(
                matches!(error, CoreError::ServerRequestSettled { settled, .. } if *settled == reason),
                "{user:?}: {error:?} after {reason:?}"
            );
        }
    });
}

#[test]
fn a_hooks_approval_racing_the_deadline_resolved_and_shutdown_is_sent_only_if_it_won() {
    check(User::Accepts, Settled::Shutdown);
}

#[test]
fn a_hooks_approval_racing_the_deadline_resolved_and_the_close_is_sent_only_if_it_won() {
    check(User::Accepts, Settled::ConnectionClosed);
}

#[test]
fn a_dropped_handle_racing_the_runtime_gets_one_answer() {
    check(User::Drops, Settled::Shutdown);
}
