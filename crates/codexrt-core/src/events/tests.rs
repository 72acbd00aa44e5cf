//! Observers: each has its own queue and filter; overflow of one becomes a
//! visible `Lagged` in that stream only.

use codexrt_protocol::ServerNotification;

use super::*;

fn note(n: usize) -> RuntimeEvent {
    RuntimeEvent::Notification(Arc::new(ServerNotification::Unknown {
        method: format!("n/{n}"),
        params: None,
    }))
}

fn describe(event: RuntimeEvent) -> String {
    match event {
        RuntimeEvent::Notification(note) => note.method().to_owned(),
        RuntimeEvent::Lagged { dropped } => format!("lagged {dropped}"),
        RuntimeEvent::Undecodable { method, .. } => format!("undecodable {method}"),
    }
}

fn push(hub: &EventHub, n: usize) {
    hub.push(&format!("n/{n}"), note(n));
}

#[tokio::test]
async fn overflow_is_reported_before_the_next_event_of_that_observer_only() {
    let hub = EventHub::default();
    push(&hub, 0); // nobody observes yet: nothing kept
    assert!(!hub.wants("n/0"));
    let mut slow = hub.subscribe(EventFilter::all().capacity(4));
    let mut fast = hub.subscribe(EventFilter::all());
    let mut picky = hub.subscribe(EventFilter::all().methods(["n/2", "n/9999"]));
    assert!(hub.wants("n/1"));
    for n in 1..=9 {
        push(&hub, n);
    }
    let mut seen = Vec::new();
    for _ in 0..4 {
        seen.push(describe(slow.recv().await.unwrap()));
    }
    assert_eq!(seen, ["n/1", "n/2", "n/3", "n/4"]);
    push(&hub, 9999);
    hub.close();
    let drain = |rx: &mut EventReceiver| {
        let mut rest = Vec::new();
        while let Some(event) = rx.try_recv() {
            rest.push(describe(event));
        }
        rest
    };
    assert_eq!(drain(&mut slow), ["lagged 5", "n/9999"]);
    let all: Vec<String> = (1..=9)
        .map(|n| format!("n/{n}"))
        .chain(["n/9999".to_owned()])
        .collect();
    assert_eq!(drain(&mut fast), all);
    assert_eq!(drain(&mut picky), ["n/2", "n/9999"]);
    assert!(slow.recv().await.is_none());
    // After the close, a new observer ends at once.
    assert!(hub.subscribe(EventFilter::all()).recv().await.is_none());
}

#[tokio::test]
async fn a_dropped_observer_is_forgotten() {
    let hub = EventHub::default();
    let gone = hub.subscribe(EventFilter::all());
    let mut kept = hub.subscribe(EventFilter::all().methods(["n/1"]));
    drop(gone);
    push(&hub, 1);
    assert!(!hub.wants("n/2"));
    assert_eq!(describe(kept.recv().await.unwrap()), "n/1");
}

#[tokio::test]
async fn a_widened_stream_takes_every_notification_from_then_on() {
    let hub = EventHub::default();
    let mut narrow = hub.subscribe(EventFilter::all().methods(["n/1"]));
    let widener = narrow.widener();
    push(&hub, 1);
    push(&hub, 2);
    assert!(!hub.wants("n/3"));
    assert!(!hub.wants_delta(methods::ITEM_AGENT_MESSAGE_DELTA));
    widener.widen();
    assert!(hub.wants("n/3"));
    assert!(hub.wants_delta(methods::ITEM_AGENT_MESSAGE_DELTA));
    push(&hub, 3);
    push(&hub, 1);
    hub.close();
    let mut seen = Vec::new();
    while let Some(event) = narrow.recv().await {
        seen.push(describe(event));
    }
    assert_eq!(seen, ["n/1", "n/3", "n/1"]);
    // Gone with the runtime: nothing to widen, nothing happens.
    drop(hub);
    widener.widen();
}

#[tokio::test]
async fn a_predicate_keeps_out_what_it_does_not_hold_for_until_widened() {
    let hub = EventHub::default();
    fn even(notification: &ServerNotification) -> bool {
        notification.method().ends_with(['0', '2', '4', '6', '8'])
    }
    let mut picky = hub.subscribe(
        EventFilter::all()
            .methods(["n/1", "n/2", "n/4"])
            .matching(even),
    );
    let odd = ServerNotification::Unknown {
        method: "n/1".to_owned(),
        params: None,
    };
    assert!(!hub.takes("n/1", &odd));
    for n in 1..=4 {
        push(&hub, n);
    }
    hub.push(
        "n/1",
        RuntimeEvent::Undecodable {
            method: "n/1".to_owned(),
            error: "bad".to_owned(),
        },
    );
    picky.widener().widen();
    assert!(hub.takes("n/1", &odd));
    push(&hub, 3);
    hub.close();
    let mut seen = Vec::new();
    while let Some(event) = picky.recv().await {
        seen.push(describe(event));
    }
    assert_eq!(seen, ["n/2", "n/4", "undecodable n/1", "n/3"]);
}
