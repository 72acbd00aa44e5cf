//! Tests of the pending-call table.

use std::sync::Arc;

use codexrt_transport::{CloseReason, CloseReport};
use serde_json::value::RawValue;

use super::{ABANDONED_MEMORY, Delivery, Outcome, Pending};
use crate::driver::Registration;
use crate::envelope::parse;
use crate::sync::oneshot;
use crate::{MalformedFrame, RequestId};

fn id(n: i64) -> RequestId {
    RequestId::Integer(n)
}

fn answer() -> Result<Box<RawValue>, crate::ErrorObject> {
    Ok(RawValue::from_string("1".into()).unwrap())
}

/// Registers a call whose caller already gave up.
fn register_abandoned(pending: &mut Pending, n: i64) {
    let (tx, rx) = oneshot::channel();
    drop(rx);
    pending.register(Registration {
        id: id(n),
        reply: tx,
        on_answer: None,
    });
}

fn register(pending: &mut Pending, n: i64) -> oneshot::Receiver<Outcome> {
    let (tx, rx) = oneshot::channel();
    pending.register(Registration {
        id: id(n),
        reply: tx,
        on_answer: None,
    });
    rx
}

/// Registers a call whose `on_answer` records what it saw in `seen`.
fn register_observed(
    pending: &mut Pending,
    n: i64,
    seen: &Arc<std::sync::Mutex<Vec<String>>>,
) -> oneshot::Receiver<Outcome> {
    let (tx, rx) = oneshot::channel();
    let seen = Arc::clone(seen);
    let on_answer: crate::OnAnswer = Box::new(move |answer| {
        let line = match answer {
            Ok(raw) => format!("{n}: {}", raw.get()),
            Err(error) => format!("{n}: error {}", error.code),
        };
        seen.lock().unwrap().push(line);
    });
    pending.register(Registration {
        id: id(n),
        reply: tx,
        on_answer: Some(on_answer),
    });
    rx
}

#[test]
fn on_answer_runs_once_before_the_caller_gets_an_answer_and_never_otherwise() {
    let seen = Arc::default();
    let mut pending = Pending::default();
    let mut answered = register_observed(&mut pending, 1, &seen);
    let mut refused = register_observed(&mut pending, 2, &seen);
    let malformed = register_observed(&mut pending, 3, &seen);
    let gone = register_observed(&mut pending, 4, &seen);
    let closed = register_observed(&mut pending, 5, &seen);
    assert_eq!(pending.answer(&id(1), answer()), Delivery::Delivered);
    // Run before the outcome was sent: the caller finds it done.
    assert_eq!(*seen.lock().unwrap(), ["1: 1"]);
    assert!(matches!(answered.try_recv(), Ok(Outcome::Answer(Ok(_)))));
    let error = crate::ErrorObject::new(-32000, "no");
    assert_eq!(pending.answer(&id(2), Err(error)), Delivery::Delivered);
    assert!(matches!(refused.try_recv(), Ok(Outcome::Answer(Err(_)))));
    assert_eq!(pending.answer(&id(1), answer()), Delivery::Unmatched);
    pending.reject(&id(3), &unreadable_answer());
    drop(malformed);
    drop(gone);
    assert_eq!(pending.answer(&id(4), answer()), Delivery::Late);
    pending.close(&Arc::new(CloseReport::new(CloseReason::PeerClosed)));
    drop(closed);
    assert_eq!(*seen.lock().unwrap(), ["1: 1", "2: error -32000"]);
}

#[test]
fn answers_reach_their_caller_once() {
    let mut pending = Pending::default();
    let mut rx = register(&mut pending, 1);
    assert!(pending.is_waiting(&id(1)));
    assert_eq!(pending.answer(&id(1), answer()), Delivery::Delivered);
    assert!(matches!(rx.try_recv(), Ok(Outcome::Answer(Ok(raw))) if raw.get() == "1"));
    assert_eq!(pending.answer(&id(1), answer()), Delivery::Unmatched);
    assert_eq!(
        pending.answer(&RequestId::from("1"), answer()),
        Delivery::Unmatched
    );
    assert_eq!(pending.answer(&id(99), answer()), Delivery::Unmatched);
    assert_eq!(pending.len(), 0);
}

#[test]
fn answers_to_abandoned_calls_are_late_once() {
    let mut pending = Pending::default();
    let _rx = register(&mut pending, 1);
    pending.cancel(&id(1));
    assert_eq!(pending.len(), 0);
    assert_eq!(pending.answer(&id(1), answer()), Delivery::Late);
    assert_eq!(pending.answer(&id(1), answer()), Delivery::Unmatched);

    // Dropped receiver, cancellation not yet processed.
    drop(register(&mut pending, 2));
    assert_eq!(pending.answer(&id(2), answer()), Delivery::Late);

    // Cancellation overtook the registration.
    pending.cancel(&id(3));
    register_abandoned(&mut pending, 3);
    assert_eq!(pending.len(), 0);
    assert_eq!(pending.answer(&id(3), answer()), Delivery::Late);
}

fn unreadable_answer() -> MalformedFrame {
    parse(br#"{"id":1}"#).unwrap_err().frame
}

#[test]
fn unreadable_answers_end_their_call_like_any_answer() {
    let frame = unreadable_answer();
    let mut pending = Pending::default();
    let mut rx = register(&mut pending, 1);
    assert_eq!(pending.reject(&id(1), &frame), Delivery::Delivered);
    assert!(matches!(rx.try_recv(), Ok(Outcome::Malformed(got)) if got == frame));
    assert_eq!(pending.len(), 0);
    // The call is over: any second answer, readable or not, is unmatched.
    assert_eq!(pending.reject(&id(1), &frame), Delivery::Unmatched);
    assert_eq!(pending.answer(&id(1), answer()), Delivery::Unmatched);
    assert_eq!(pending.reject(&id(99), &frame), Delivery::Unmatched);

    let _rx = register(&mut pending, 2);
    pending.cancel(&id(2));
    assert_eq!(pending.reject(&id(2), &frame), Delivery::Late);
    assert_eq!(pending.answer(&id(2), answer()), Delivery::Unmatched);
    drop(register(&mut pending, 3));
    assert_eq!(pending.reject(&id(3), &frame), Delivery::Late);

    // A readable answer ends the call for an unreadable one just the same.
    let _rx = register(&mut pending, 4);
    assert_eq!(pending.answer(&id(4), answer()), Delivery::Delivered);
    assert_eq!(pending.reject(&id(4), &frame), Delivery::Unmatched);
}

#[test]
fn sweep_forgets_only_abandoned_calls() {
    let mut pending = Pending::default();
    let kept: Vec<_> = (0..5).map(|n| register(&mut pending, n)).collect();
    for n in 5..10 {
        register_abandoned(&mut pending, n);
    }
    assert_eq!(pending.len(), 5);
    for n in 10..15 {
        drop(register(&mut pending, n));
    }
    assert_eq!(pending.len(), 10);
    let mut closed = register(&mut pending, 15);
    closed.close();
    pending.sweep();
    assert_eq!(pending.len(), 5);
    for n in 5..16 {
        assert_eq!(pending.answer(&id(n), answer()), Delivery::Late, "id {n}");
    }
    assert_eq!(pending.answer(&id(0), answer()), Delivery::Delivered);
    drop(kept);
}

#[test]
fn abandoned_ids_are_remembered_up_to_a_bound() {
    let mut pending = Pending::default();
    let count = i64::try_from(ABANDONED_MEMORY).unwrap() + 1;
    for n in 0..count {
        let _rx = register(&mut pending, n);
        pending.cancel(&id(n));
    }
    assert_eq!(pending.answer(&id(0), answer()), Delivery::Unmatched);
    assert_eq!(pending.answer(&id(1), answer()), Delivery::Late);
    assert_eq!(pending.answer(&id(count - 1), answer()), Delivery::Late);
}

#[test]
fn closing_fails_every_call_with_the_report() {
    let mut pending = Pending::default();
    let mut receivers: Vec<_> = (0..3).map(|n| register(&mut pending, n)).collect();
    let report = Arc::new(CloseReport::new(CloseReason::PeerClosed));
    pending.close(&report);
    assert_eq!(pending.len(), 0);
    for rx in &mut receivers {
        assert!(matches!(rx.try_recv(), Ok(Outcome::Closed(r)) if Arc::ptr_eq(&r, &report)));
    }
}

#[test]
fn the_gauge_follows_the_table_before_outcomes_are_sent() {
    use std::sync::atomic::Ordering;

    use crate::sync::AtomicUsize;
    let gauge = Arc::new(AtomicUsize::new(0));
    let mut pending = Pending::with_gauge(Arc::clone(&gauge));
    let count = || gauge.load(Ordering::Relaxed);
    let first = register(&mut pending, 1);
    let _second = register(&mut pending, 2);
    let third = register(&mut pending, 3);
    register_abandoned(&mut pending, 4);
    assert_eq!(count(), 3);
    assert_eq!(pending.answer(&id(1), answer()), Delivery::Delivered);
    assert_eq!(count(), 2);
    drop(first);
    pending.cancel(&id(2));
    assert_eq!(count(), 1);
    drop(third);
    pending.sweep();
    assert_eq!(count(), 0);
    let _fifth = register(&mut pending, 5);
    assert_eq!(count(), 1);
    pending.close(&Arc::new(CloseReport::new(CloseReason::PeerClosed)));
    assert_eq!(count(), 0);
}

#[test]
fn a_caller_that_gives_up_keeps_an_answer_sent_before_and_makes_a_later_one_late() {
    let shared = crate::call::Shared::default();
    let (cancels, mut cancelled) = tokio::sync::mpsc::channel(4);
    let mut pending = Pending::default();

    // Answered first: the give-up finds the answer, nothing is cancelled.
    let (tx, rx) = oneshot::channel();
    pending.register(Registration {
        id: id(1),
        reply: tx,
        on_answer: None,
    });
    let mut call = crate::call::CallGuard::new(id(1), rx, &cancels, &shared);
    call.arm();
    assert_eq!(pending.answer(&id(1), answer()), Delivery::Delivered);
    assert!(matches!(call.give_up(), Some(Outcome::Answer(Ok(_)))));
    assert!(cancelled.try_recv().is_err());

    // Given up first: the loop is told, and the answer is late.
    let (tx, rx) = oneshot::channel();
    pending.register(Registration {
        id: id(2),
        reply: tx,
        on_answer: None,
    });
    let mut call = crate::call::CallGuard::new(id(2), rx, &cancels, &shared);
    call.arm();
    assert!(call.give_up().is_none());
    assert_eq!(cancelled.try_recv().ok(), Some(id(2)));
    assert_eq!(pending.answer(&id(2), answer()), Delivery::Late);
    assert_eq!(pending.len(), 0);
}
