//! Unit tests of the pool: the backoff schedule, the jitter draw and the
//! `/readyz` address of an endpoint.

use std::time::Duration;

use super::Backoff;
use super::probe::readyz_authority;
use super::supervisor::random_unit;

#[test]
fn backoff_doubles_within_half_and_all_of_its_ceiling() {
    let backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
    let delays = |unit: f64| -> Vec<Duration> {
        (0..6).map(|attempt| backoff.delay(attempt, unit)).collect()
    };
    let ms = Duration::from_millis;
    assert_eq!(
        delays(0.0),
        [ms(50), ms(100), ms(200), ms(400), ms(500), ms(500)]
    );
    assert_eq!(
        delays(1.0),
        [ms(100), ms(200), ms(400), ms(800), ms(1000), ms(1000)]
    );
    assert_eq!(
        delays(0.5),
        [ms(75), ms(150), ms(300), ms(600), ms(750), ms(750)]
    );
    // Out-of-range draws are clamped, never a panic.
    assert_eq!(backoff.delay(0, f64::NAN), ms(50));
    assert_eq!(backoff.delay(0, 7.0), ms(100));
    assert_eq!(backoff.delay(u32::MAX, 1.0), ms(1000));
}

#[test]
fn a_max_below_the_initial_delay_is_raised_to_it() {
    let backoff = Backoff::new(Duration::from_secs(2), Duration::from_secs(1));
    assert_eq!(backoff.max_delay(), Duration::from_secs(2));
    assert_eq!(backoff.retry_limit(), None);
    assert_eq!(backoff.max_retries(3).retry_limit(), Some(3));
}

#[test]
fn random_units_are_in_range_and_vary() {
    let draws: Vec<f64> = (0..64).map(|_| random_unit()).collect();
    assert!(
        draws.iter().all(|unit| (0.0..1.0).contains(unit)),
        "{draws:?}"
    );
    assert!(draws.iter().any(|unit| *unit != draws[0]), "{draws:?}");
}

#[test]
fn readyz_is_probed_on_the_port_of_ws_endpoints_only() {
    let check = |endpoint: &str, expected: Option<&str>| {
        assert_eq!(
            readyz_authority(endpoint).as_deref(),
            expected,
            "{endpoint}"
        );
    };
    check("ws://127.0.0.1:4500/", Some("127.0.0.1:4500"));
    check("ws://localhost:4500", Some("localhost:4500"));
    check("ws://[::1]:4500/path?q", Some("[::1]:4500"));
    check("ws://example.com/", Some("example.com:80"));
    check("ws://[::1]/", Some("[::1]:80"));
    check("wss://example.com:443/", None);
    check("unix:///run/codex.sock", None);
    check("ws:///", None);
}
