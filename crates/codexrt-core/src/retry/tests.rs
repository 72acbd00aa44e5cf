//! Backoff bounds, jitter spread and the idempotency rule.

use std::time::Duration;

use super::*;

#[test]
fn idempotency_rule() {
    for method in [
        "thread/read",
        "model/list",
        "account/rateLimits/read",
        "thread/turns/list",
    ] {
        assert!(is_idempotent(method), "{method}");
    }
    for method in [
        "turn/start",
        "thread/start",
        "turn/steer",
        "turn/interrupt",
        "config/value/write",
        "read",
        "thread/readAll",
    ] {
        assert_eq!(is_idempotent(method), method == "read", "{method}");
    }
}

#[test]
fn backoff_doubles_up_to_the_maximum() {
    let policy = RetryPolicy::new().max_backoff(Duration::from_millis(500));
    let bounds: Vec<_> = (1..=5)
        .map(|attempt| policy.backoff_bound(attempt))
        .collect();
    let ms = |ms| Duration::from_millis(ms);
    assert_eq!(bounds, [ms(100), ms(200), ms(400), ms(500), ms(500)]);
    assert_eq!(policy.backoff_bound(200), ms(500));
}

#[test]
fn jitter_stays_within_the_bound_and_spreads() {
    let policy = RetryPolicy::new();
    assert_eq!(policy.delay(1, 0), Duration::ZERO);
    assert_eq!(policy.delay(1, 100_000_000), Duration::from_millis(100));
    let delays: Vec<_> = (0..64).map(|_| policy.delay(2, entropy())).collect();
    assert!(
        delays
            .iter()
            .all(|delay| *delay <= Duration::from_millis(200))
    );
    let distinct: std::collections::BTreeSet<_> = delays.iter().collect();
    assert!(distinct.len() > 32, "{delays:?}");
}
