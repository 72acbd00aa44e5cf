//! Tests of the in-memory pair.

use std::time::Duration;

use bytes::Bytes;

use super::{pair, pair_with_max_frame_len};
use crate::{CloseReason, FrameError};

fn frames(n: usize) -> Vec<Bytes> {
    (0..n).map(|i| Bytes::from(format!("frame {i}"))).collect()
}

#[tokio::test]
async fn frames_arrive_in_order_both_ways() {
    let (left, mut right) = pair(4);
    let (sent_right, sent_left) = (frames(100), frames(50));
    let writer = {
        let (sender, sent) = (left.sender.clone(), sent_right.clone());
        tokio::spawn(async move {
            for frame in sent {
                sender.send(frame).await.expect("open");
            }
        })
    };
    let right_writer = {
        let (sender, sent) = (right.sender.clone(), sent_left.clone());
        tokio::spawn(async move {
            for frame in sent {
                sender.send(frame).await.expect("open");
            }
        })
    };
    let mut got_right = Vec::new();
    for _ in 0..sent_right.len() {
        got_right.push(right.receiver.recv().await.expect("open").expect("frame"));
    }
    writer.await.expect("writer");
    let mut left = left;
    let mut got_left = Vec::new();
    for _ in 0..sent_left.len() {
        got_left.push(left.receiver.recv().await.expect("open").expect("frame"));
    }
    right_writer.await.expect("writer");
    assert_eq!(got_right, sent_right);
    assert_eq!(got_left, sent_left);
}

#[tokio::test]
async fn one_full_direction_does_not_block_the_other() {
    let (left, mut right) = pair(1);
    // Nobody reads on the right: the left-to-right direction fills up.
    let stuck = {
        let sender = left.sender.clone();
        tokio::spawn(async move {
            for frame in frames(10) {
                if sender.send(frame).await.is_err() {
                    break;
                }
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(20)).await;
    let mut left = left;
    right
        .sender
        .send(Bytes::from_static(b"reply"))
        .await
        .expect("open");
    let got = left.receiver.recv().await.expect("open").expect("frame");
    assert_eq!(got, "reply");
    assert!(!stuck.is_finished());
    // Draining the right side lets the stuck writer finish.
    for expected in frames(10) {
        assert_eq!(
            right.receiver.recv().await.expect("open").expect("frame"),
            expected
        );
    }
    stuck.await.expect("writer");
}

#[tokio::test]
async fn shutdown_closes_both_sides_with_their_reasons() {
    let (left, mut right) = pair(8);
    for frame in frames(5) {
        left.sender.send(frame).await.expect("open");
    }
    let report = left
        .closer
        .shutdown(Duration::from_secs(1))
        .await
        .expect("shutdown");
    assert!(matches!(report.reason, CloseReason::Shutdown));
    // A second shutdown returns the same report at once.
    let again = left
        .closer
        .shutdown(Duration::from_secs(1))
        .await
        .expect("shutdown");
    assert!(std::sync::Arc::ptr_eq(&report, &again));
    // The frames sent before the shutdown are still delivered, then the end.
    for expected in frames(5) {
        assert_eq!(
            right.receiver.recv().await.expect("open").expect("frame"),
            expected
        );
    }
    assert!(right.receiver.recv().await.is_none());
    assert!(matches!(
        right.closer.closed().await.reason,
        CloseReason::PeerClosed
    ));
    assert!(left.sender.send(Bytes::from_static(b"late")).await.is_err());
}

#[tokio::test]
async fn dropping_one_side_closes_the_other() {
    let (left, mut right) = pair(8);
    left.sender
        .send(Bytes::from_static(b"sent before the drop"))
        .await
        .expect("open");
    drop(left);
    let frame = right.receiver.recv().await.expect("open").expect("frame");
    assert_eq!(frame, "sent before the drop");
    assert!(right.receiver.recv().await.is_none());
    assert!(matches!(
        right.closer.closed().await.reason,
        CloseReason::PeerClosed
    ));
    assert!(matches!(
        right.closer.report().map(|r| r.reason.clone()),
        Some(CloseReason::PeerClosed)
    ));
}

#[tokio::test]
async fn dropping_only_the_closers_keeps_the_pair_working() {
    let (left, right) = pair(8);
    let crate::Connection {
        sender,
        mut receiver,
        ..
    } = left;
    let crate::Connection {
        sender: right_sender,
        receiver: mut right_receiver,
        closer: right_closer,
        ..
    } = right;
    sender
        .send(Bytes::from_static(b"ping"))
        .await
        .expect("open");
    assert_eq!(
        right_receiver.recv().await.expect("open").expect("frame"),
        "ping"
    );
    right_sender
        .send(Bytes::from_static(b"pong"))
        .await
        .expect("open");
    assert_eq!(receiver.recv().await.expect("open").expect("frame"), "pong");
    assert!(right_closer.report().is_none());
    // The left side's senders and receiver were its last handles.
    drop((sender, receiver));
    assert!(right_receiver.recv().await.is_none());
    assert!(matches!(
        right_closer.closed().await.reason,
        CloseReason::PeerClosed
    ));
}

#[tokio::test]
async fn frames_over_the_limit_arrive_as_reports() {
    let (left, mut right) = pair_with_max_frame_len(4, 8);
    let long = Bytes::from(vec![b'x'; 2000]);
    let sent = [
        Bytes::from_static(b"12345678"),
        Bytes::from_static(b"123456789"),
        long.clone(),
        Bytes::from_static(b"ok"),
    ];
    for frame in sent {
        left.sender.send(frame).await.expect("open");
    }
    let mut got = Vec::new();
    for _ in 0..4 {
        got.push(right.receiver.recv().await.expect("open"));
    }
    assert_eq!(
        got,
        vec![
            Ok(Bytes::from_static(b"12345678")),
            Err(FrameError::TooLong {
                max_len: 8,
                seen: 9,
                prefix: Bytes::from_static(b"123456789"),
            }),
            Err(FrameError::TooLong {
                max_len: 8,
                seen: 2000,
                prefix: long.slice(..FrameError::PREFIX_LEN),
            }),
            Ok(Bytes::from_static(b"ok")),
        ]
    );
}
