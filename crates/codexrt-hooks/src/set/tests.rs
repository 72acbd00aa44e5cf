//! Unit tests of the entries' settings: every timeout is lowered to
//! `MAX_WAIT`, and zero stays zero (it fails at once when run).

use std::time::Duration;

use codexrt_transport::MAX_WAIT;
use serde_json::json;

use super::*;
use crate::{ToolOutput, hook_fn, tool_fn};

struct Quiet;

#[async_trait::async_trait]
impl EventObserver for Quiet {
    async fn on_event(&self, _event: &RuntimeEvent) -> Result<(), HookError> {
        Ok(())
    }
}

/// The timeouts each entry keeps for `asked`: a hook's, an observer's and
/// a tool's.
fn kept(asked: Duration) -> [Duration; 3] {
    let hook = HookEntry::new("h", hook_fn(|_| async { Ok(Decision::Defer) })).timeout(asked);
    let observer = ObserverEntry::new("o", Quiet).timeout(asked);
    let tool = ToolEntry::new(
        "t",
        "a tool",
        json!({"type": "object"}),
        tool_fn(|_| async { Ok(ToolOutput::text("")) }),
    )
    .timeout(asked);
    [hook.timeout, observer.timeout, tool.timeout]
}

#[test]
fn timeouts_are_lowered_to_max_wait() {
    let second = Duration::from_secs(1);
    let cases = [
        (Duration::ZERO, Duration::ZERO),
        (second, second),
        (MAX_WAIT, MAX_WAIT),
        (MAX_WAIT + second, MAX_WAIT),
        (Duration::MAX, MAX_WAIT),
    ];
    for (asked, expected) in cases {
        assert_eq!(kept(asked), [expected; 3], "{asked:?}");
    }
}
