//! The backoff of the reconnect and restart policies.

use std::time::Duration;

use super::{ReconnectPolicy, RestartPolicy, entropy};

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

#[test]
fn delays_double_between_half_and_whole_bound_up_to_the_maximum() {
    let policy = ReconnectPolicy::new()
        .initial_delay(ms(100))
        .max_delay(ms(1000));
    let ranges: Vec<_> = (1..=6).map(|attempt| policy.delay_range(attempt)).collect();
    assert_eq!(
        ranges,
        [
            (ms(50), ms(100)),
            (ms(100), ms(200)),
            (ms(200), ms(400)),
            (ms(400), ms(800)),
            (ms(500), ms(1000)),
            (ms(500), ms(1000)),
        ]
    );
    // Far attempts neither overflow nor pass the maximum.
    assert_eq!(policy.delay_range(u32::MAX), (ms(500), ms(1000)));
}

#[test]
fn the_defaults_are_documented_ones() {
    let reconnect = ReconnectPolicy::default();
    let restart = RestartPolicy::default();
    assert_eq!(reconnect.attempts(), 10);
    assert_eq!(restart.attempts(), 10);
    assert_eq!(reconnect.delay_range(1), (ms(125), ms(250)));
    assert_eq!(restart.delay_range(1), (ms(125), ms(250)));
    assert_eq!(reconnect.delay_range(20), (ms(15_000), ms(30_000)));
    assert_eq!(RestartPolicy::new().max_attempts(0).attempts(), 1);
}

#[test]
fn random_delays_stay_within_their_range_and_spread() {
    let backoff = ReconnectPolicy::new()
        .initial_delay(ms(80))
        .max_delay(ms(5000))
        .backoff();
    let seed = entropy();
    println!("seed {seed}");
    let mut state = seed | 1;
    for attempt in 1..=10 {
        let (low, high) = backoff.range(attempt);
        assert_eq!(backoff.delay(attempt, 0), low);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..1000 {
            // xorshift64*, seeded by the printed seed.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let delay = backoff.delay(attempt, state);
            assert!(
                low <= delay && delay <= high,
                "{delay:?} outside {low:?}..={high:?}"
            );
            seen.insert(delay);
        }
        assert!(
            seen.len() > 900,
            "attempt {attempt}: only {} distinct",
            seen.len()
        );
    }
}
