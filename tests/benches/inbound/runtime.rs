//! The core client: `codexrt_core::Runtime::spawn` on the fake app-server,
//! `thread/start` through `Runtime::call`, `Runtime::start_turn`, the turn's
//! events read to their end and `TurnHandle::wait`; approvals answered from
//! `Runtime::server_requests`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use codexrt_core::{PendingServerRequest, Runtime, RuntimeConfig, StreamKind, TurnEvent};
use codexrt_protocol::ServerNotification;
use codexrt_protocol::types::{
    CommandExecutionApprovalDecision, CommandExecutionRequestApprovalResponse,
    CommandExecutionStatus, ThreadItemKind, ThreadStartParams, TurnStartParams, TurnStatus,
    UserInput,
};
use codexrt_testkit::fake::Traffic;

use crate::FAKE_APP_SERVER;
use crate::scenario::{Measured, PROMPT, Scenario, Sizes, Turn};

pub(crate) async fn run(scenario: Scenario, sizes: &Sizes) -> Measured {
    let traffic = scenario.traffic(sizes);
    let mut config = RuntimeConfig::new("codexrt-bench", "0.1.0").program(FAKE_APP_SERVER);
    for arg in traffic.args() {
        config = config.arg(arg);
    }
    let runtime = match Runtime::spawn(config).await {
        Ok(runtime) => runtime,
        Err(err) => return Measured::failed(format!("Runtime::spawn: {err}")),
    };
    let answered = Arc::new(AtomicU64::new(0));
    if let Some(mut requests) = runtime.server_requests() {
        let answered = Arc::clone(&answered);
        tokio::spawn(async move {
            while let Some(request) = requests.recv().await {
                // Anything else gets its safe answer when dropped.
                if let PendingServerRequest::CommandExecutionApproval(approval) = request {
                    let accept = CommandExecutionRequestApprovalResponse {
                        decision: CommandExecutionApprovalDecision::Accept,
                    };
                    if approval.respond(accept).is_ok() {
                        answered.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        });
    }
    let measured = if scenario == Scenario::Sessions {
        sessions(&runtime, &traffic, sizes).await
    } else {
        let turn = match runtime.call(ThreadStartParams::default()).await {
            Ok(thread) => turn(&runtime, thread.thread.id, scenario).await,
            Err(err) => Err(format!("thread/start: {err}")),
        };
        let turn = turn.map(|mut turn| {
            turn.approvals_answered = Some(answered.load(Ordering::Relaxed));
            turn
        });
        Measured::turn(turn, scenario, &traffic, sizes)
    };
    match runtime.shutdown().await {
        Ok(_) => measured,
        Err(err) => Measured::failed(format!("shutdown: {err}")),
    }
}

/// One session alone, then all of them at once, each with a thread of its
/// own.
async fn sessions(runtime: &Runtime, traffic: &Traffic, sizes: &Sizes) -> Measured {
    let single = session(runtime.clone()).await;
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..sizes.sessions {
        tasks.spawn(session(runtime.clone()));
    }
    let mut all = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        all.push(joined.unwrap_or_else(|err| Err(format!("the session's task failed: {err}"))));
    }
    Measured::sessions(single, all, started.elapsed(), traffic, sizes)
}

async fn session(runtime: Runtime) -> Result<Turn, String> {
    let started = Instant::now();
    let thread = runtime
        .call(ThreadStartParams::default())
        .await
        .map_err(|err| format!("thread/start: {err}"))?;
    let mut turn = turn(&runtime, thread.thread.id, Scenario::Sessions).await?;
    turn.elapsed = started.elapsed();
    Ok(turn)
}

async fn turn(runtime: &Runtime, thread_id: String, scenario: Scenario) -> Result<Turn, String> {
    let started = Instant::now();
    let params = TurnStartParams {
        thread_id,
        input: vec![UserInput::Text {
            text: PROMPT.to_owned(),
            text_elements: None,
        }],
        ..TurnStartParams::default()
    };
    let mut handle = runtime
        .start_turn(params)
        .await
        .map_err(|err| format!("turn/start: {err}"))?;
    let mut events = handle.events().ok_or("the turn's events were taken")?;
    let mut turn = Turn {
        turn_id: handle.turn_id().to_owned(),
        ..Turn::default()
    };
    let consumer = scenario.consumer();
    let reading = async {
        while let Some(event) = events.recv().await {
            consumer.event().await;
            match event {
                TurnEvent::Delta(delta) if delta.kind == StreamKind::AgentMessage => {
                    turn.text.push_str(&delta.text);
                }
                TurnEvent::Notification(notification) => {
                    if let ServerNotification::ItemCompleted(completed) = &*notification
                        && let ThreadItemKind::CommandExecution {
                            status: CommandExecutionStatus::Completed,
                            ..
                        } = completed.item.kind
                    {
                        turn.commands_completed += 1;
                    }
                }
                _ => {}
            }
        }
        Ok(())
    };
    consumer.guard(reading).await?;
    let outcome = handle.wait().await.map_err(|err| format!("wait: {err}"))?;
    turn.elapsed = started.elapsed();
    turn.completed = outcome.status == TurnStatus::Completed;
    turn.ending = Some(format!("status {:?}", outcome.status));
    Ok(turn)
}
