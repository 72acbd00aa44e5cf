//! Overflow of the observer queue becomes a visible `Lagged`.

use codexrt_protocol::ServerNotification;

use super::*;

fn note(n: usize) -> RuntimeEvent {
    RuntimeEvent::Notification(ServerNotification::Unknown {
        method: format!("n/{n}"),
        params: None,
    })
}

fn describe(event: RuntimeEvent) -> String {
    match event {
        RuntimeEvent::Notification(note) => note.method().to_owned(),
        RuntimeEvent::Lagged { dropped } => format!("lagged {dropped}"),
        RuntimeEvent::Undecodable { method, .. } => format!("undecodable {method}"),
    }
}

#[tokio::test]
async fn overflow_is_reported_before_the_next_event() {
    let sink = EventSink::new();
    sink.push(note(0)); // nobody took the stream yet: discarded
    let mut rx = sink.take().unwrap();
    assert!(sink.take().is_none());
    for n in 0..EVENT_QUEUE_CAPACITY + 3 {
        sink.push(note(n));
    }
    sink.push_lag(2);
    let mut seen = Vec::new();
    for _ in 0..EVENT_QUEUE_CAPACITY {
        seen.push(describe(rx.recv().await.unwrap()));
    }
    assert_eq!(seen.first().map(String::as_str), Some("n/0"));
    assert_eq!(
        seen.last().cloned(),
        Some(format!("n/{}", EVENT_QUEUE_CAPACITY - 1))
    );
    sink.push(note(9999));
    sink.close();
    let mut rest = Vec::new();
    while let Some(event) = rx.recv().await {
        rest.push(describe(event));
    }
    assert_eq!(rest, ["lagged 5", "n/9999"]);
}
