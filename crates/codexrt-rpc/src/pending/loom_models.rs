//! Loom models of a call's ending (`cargo xtask loom`): the loop answers
//! or fails the call while its caller gives up (a timeout or a dropped
//! future), in every interleaving loom finds.
//!
//! Found by them: an answer arriving as the caller gives up can run its
//! `on_answer` and still be counted late (documented on
//! `RpcClient::call_raw_observed`).
//!
//! Covered, as the real code: the table ([`Pending`]: register, answer,
//! cancel, sweep, close), the caller's [`CallGuard`] (give-up, drop, the
//! sweep request when the cancellation queue is full), and the gauge's
//! ordering. The one-shot channel is the loom stand-in with Tokio's
//! contract (`crate::sync::oneshot`). Not covered: Tokio's own channels
//! (the queue of cancellations is a Tokio channel, each send or receive one
//! step), and the loop's `select!`, which here is a fixed order of steps
//! with the queue drained between them; registration before the answer is
//! the loop's promise checked by the rpc integration tests.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use codexrt_transport::{CloseReason, CloseReport};
use loom::sync::atomic::AtomicBool;
use serde_json::value::RawValue;
use tokio::sync::mpsc;

use super::{Delivery, Outcome, Pending};
use crate::call::{CallGuard, Shared};
use crate::driver::Registration;
use crate::sync::oneshot;
use crate::{OnAnswer, RequestId};

/// What the loop does with the call once it is registered.
#[derive(Debug, Clone, Copy)]
enum Peer {
    /// Never answers: the call is forgotten by its cancellation or a sweep.
    Silent,
    Answers,
    Closes,
    AnswersThenCloses,
}

/// How the caller gives up.
#[derive(Debug, Clone, Copy)]
enum Caller {
    /// Its timeout elapses: it may still find an outcome.
    TimesOut,
    /// Its future is dropped.
    Drops,
}

/// How the call ended for its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    Answer,
    Closed,
    GaveUp,
}

fn ended(outcome: Option<Outcome>) -> Ended {
    match outcome {
        Some(Outcome::Answer(_)) => Ended::Answer,
        Some(Outcome::Closed(_)) => Ended::Closed,
        Some(Outcome::Malformed(_)) => panic!("no malformed answer in the model"),
        None => Ended::GaveUp,
    }
}

/// Hands the loop what the caller queued: cancellations, and a sweep when
/// the queue was full.
fn drain(pending: &mut Pending, cancels: &mut mpsc::Receiver<RequestId>, shared: &Shared) {
    if shared.take_sweep_request() {
        pending.sweep();
    }
    while let Ok(id) = cancels.try_recv() {
        pending.cancel(&id);
    }
}

/// One call, one peer, one caller, and a cancellation queue that is full
/// (the sweep path) or not; checks every interleaving.
fn check(peer: Peer, caller: Caller, queue_full: bool) {
    loom::model(move || {
        let shared = Arc::new(Shared::default());
        let gauge = Arc::clone(&shared.counters.pending_calls);
        let (cancels_tx, mut cancels) = mpsc::channel(1);
        if queue_full {
            let _ = cancels_tx.try_send(RequestId::Integer(99));
        }
        let observed = loom::sync::Arc::new(AtomicBool::new(false));
        let on_answer: OnAnswer = {
            let observed = loom::sync::Arc::clone(&observed);
            Box::new(move |_| observed.store(true, Ordering::Relaxed))
        };
        let id = RequestId::Integer(1);
        let (reply, reply_rx) = oneshot::channel();
        // Queued before the caller can give up, as `Caller::exchange` does.
        let registration = Registration {
            id: id.clone(),
            reply,
            on_answer: Some(on_answer),
        };

        let caller_thread = {
            let shared = Arc::clone(&shared);
            let gauge = Arc::clone(&gauge);
            let id = id.clone();
            loom::thread::spawn(move || {
                let mut call = CallGuard::new(id, reply_rx, &cancels_tx, &shared);
                call.arm();
                let outcome = match caller {
                    Caller::TimesOut => call.give_up(),
                    Caller::Drops => {
                        drop(call);
                        None
                    }
                };
                if outcome.is_some() {
                    // A caller that has its outcome is no longer counted.
                    assert_eq!(gauge.load(Ordering::Relaxed), 0, "gauge seen by the caller");
                }
                ended(outcome)
            })
        };

        let mut pending = Pending::with_gauge(Arc::clone(&gauge));
        pending.register(registration);
        let mut delivery = None;
        if matches!(peer, Peer::Answers | Peer::AnswersThenCloses) {
            drain(&mut pending, &mut cancels, &shared);
            let answer = RawValue::from_string("1".to_owned()).unwrap();
            delivery = Some(pending.answer(&id, Ok(answer)));
        }
        if matches!(peer, Peer::Closes | Peer::AnswersThenCloses) {
            drain(&mut pending, &mut cancels, &shared);
            pending.close(&Arc::new(CloseReport::new(CloseReason::PeerClosed)));
        }
        let ended = caller_thread.join().unwrap();
        drain(&mut pending, &mut cancels, &shared);

        assert_eq!(pending.len(), 0, "calls left in the table");
        assert_eq!(gauge.load(Ordering::Relaxed), 0, "gauge at the end");
        // The answer is either the caller's or counted late, never lost in
        // between, never unmatched.
        match (caller, delivery, ended) {
            (Caller::TimesOut, Some(Delivery::Delivered), Ended::Answer)
            | (Caller::TimesOut, Some(Delivery::Late), Ended::GaveUp)
            | (Caller::TimesOut, None, Ended::Closed | Ended::GaveUp)
            | (Caller::Drops, Some(Delivery::Delivered | Delivery::Late), Ended::GaveUp)
            | (Caller::Drops, None, Ended::GaveUp) => {}
            other => panic!("{peer:?}, {caller:?}: delivery and ending disagree: {other:?}"),
        }
        // The observer runs for every answer the caller gets. It can also
        // run for an answer that then finds the caller gone (the caller
        // closes the channel between the loop's look and its send), which
        // is counted late: what it sets up must be undone by a call that
        // fails, as `RpcClient::call_raw_observed` says.
        let observed = observed.load(Ordering::Relaxed);
        if let Caller::TimesOut = caller {
            assert!(
                observed == (ended == Ended::Answer) || delivery == Some(Delivery::Late),
                "{peer:?}: on_answer ran: {observed}, the call ended with {ended:?}, {delivery:?}"
            );
        }
        if delivery == Some(Delivery::Delivered) {
            assert!(observed, "{peer:?}: an answer delivered without on_answer");
        }
    });
}

#[test]
fn an_answer_racing_a_timeout_is_the_callers_or_late() {
    for queue_full in [false, true] {
        check(Peer::Answers, Caller::TimesOut, queue_full);
        check(Peer::AnswersThenCloses, Caller::TimesOut, queue_full);
    }
}

#[test]
fn a_close_racing_a_timeout_ends_the_call_once() {
    for queue_full in [false, true] {
        check(Peer::Closes, Caller::TimesOut, queue_full);
    }
}

#[test]
fn a_call_that_times_out_unanswered_leaves_the_table() {
    for queue_full in [false, true] {
        check(Peer::Silent, Caller::TimesOut, queue_full);
    }
}

#[test]
fn a_dropped_call_is_forgotten_whatever_the_peer_does() {
    for queue_full in [false, true] {
        for peer in [
            Peer::Silent,
            Peer::Answers,
            Peer::Closes,
            Peer::AnswersThenCloses,
        ] {
            check(peer, Caller::Drops, queue_full);
        }
    }
}
