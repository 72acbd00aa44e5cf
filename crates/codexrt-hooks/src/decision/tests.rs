//! Unit tests of [`combine`]: table cases and a 100,000-run randomized
//! property check.

use super::*;

fn check(outcomes: Vec<HookOutcome>, expected: Decision) {
    assert_eq!(combine(outcomes.clone()), expected, "{outcomes:?}");
}

fn decided(decision: Decision) -> HookOutcome {
    HookOutcome::Decided(decision)
}

#[test]
fn first_decision_wins() {
    check(vec![], Decision::decline("no hook decided"));
    check(
        vec![decided(Decision::Defer), decided(Decision::Defer)],
        Decision::decline("no hook decided"),
    );
    check(
        vec![decided(Decision::Defer), decided(Decision::Accept)],
        Decision::Accept,
    );
    check(
        vec![decided(Decision::Accept), decided(Decision::decline("no"))],
        Decision::Accept,
    );
    check(
        vec![decided(Decision::decline("no")), decided(Decision::Accept)],
        Decision::decline("no"),
    );
    check(
        vec![decided(Decision::cancel("stop")), decided(Decision::Accept)],
        Decision::cancel("stop"),
    );
    check(
        vec![
            decided(Decision::Defer),
            decided(Decision::AcceptForSession),
        ],
        Decision::AcceptForSession,
    );
}

#[test]
fn a_failure_declines_and_stops_the_chain() {
    for kind in [IssueKind::Error, IssueKind::Timeout, IssueKind::Panic] {
        check(
            vec![HookOutcome::Failed(kind), decided(Decision::Accept)],
            Decision::decline(format!("a hook failed ({kind})")),
        );
        check(
            vec![decided(Decision::Accept), HookOutcome::Failed(kind)],
            Decision::Accept,
        );
    }
}

/// A tiny xorshift64 generator: enough randomness for a property test
/// without a dependency.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

fn random_outcome(rng: &mut XorShift) -> HookOutcome {
    match rng.next() % 7 {
        0 => decided(Decision::Accept),
        1 => decided(Decision::AcceptForSession),
        2 => decided(Decision::decline("d")),
        3 => decided(Decision::cancel("c")),
        4 => decided(Decision::Defer),
        5 => HookOutcome::Failed(IssueKind::Error),
        _ => HookOutcome::Failed(if rng.next() % 2 == 0 {
            IssueKind::Timeout
        } else {
            IssueKind::Panic
        }),
    }
}

#[test]
fn never_approves_what_no_hook_approved() {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    for _ in 0..100_000 {
        let len = (rng.next() % 8) as usize;
        let outcomes: Vec<HookOutcome> = (0..len).map(|_| random_outcome(&mut rng)).collect();
        let decision = combine(outcomes.clone());
        // The first outcome that is not a deferral decides; everything
        // after it is irrelevant.
        let first = outcomes
            .iter()
            .find(|outcome| **outcome != decided(Decision::Defer));
        if decision.is_approval() {
            assert_eq!(first, Some(&decided(decision.clone())), "{outcomes:?}");
        }
        match first {
            Some(HookOutcome::Decided(first)) => assert_eq!(&decision, first),
            _ => assert!(matches!(decision, Decision::Decline { .. }), "{outcomes:?}"),
        }
    }
}
