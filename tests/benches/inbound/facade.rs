//! The facade client: `codexrt::Client` started on the fake app-server, a
//! `Session`, and `ask_stream` read to `Finished`; approvals accepted by a
//! `CommandRules` hook that allows every command.

use std::time::Instant;

use codexrt::hooks::{CommandRules, HookEntry, HookSet};
use codexrt::protocol::ServerNotification;
use codexrt::protocol::types::{CommandExecutionStatus, ThreadItemKind};
use codexrt::{Client, ClientConfig, SessionConfig, SessionEvent};
use codexrt_testkit::fake::Traffic;

use crate::FAKE_APP_SERVER;
use crate::scenario::{Measured, PROMPT, Scenario, Sizes, Turn};

pub(crate) async fn run(scenario: Scenario, sizes: &Sizes) -> Measured {
    let traffic = scenario.traffic(sizes);
    let mut config = ClientConfig::new()
        .client_info("codexrt-bench", "0.1.0")
        .program(FAKE_APP_SERVER);
    for arg in traffic.args() {
        config = config.arg(arg);
    }
    if scenario == Scenario::Approvals {
        let accept_all = HookEntry::new("accept-all", CommandRules::new().allow("*"));
        config = config.hooks(HookSet::new().hook(accept_all));
    }
    let client = match Client::connect(config).await {
        Ok(client) => client,
        Err(err) => return Measured::failed(format!("Client::connect: {err}")),
    };
    let measured = if scenario == Scenario::Sessions {
        sessions(&client, &traffic, sizes).await
    } else {
        let turn = match client.start_session(session_config()).await {
            Ok(session) => ask(&session, scenario).await,
            Err(err) => Err(format!("start_session: {err}")),
        };
        Measured::turn(turn, scenario, &traffic, sizes)
    };
    match client.shutdown().await {
        Ok(_) => measured,
        Err(err) => Measured::failed(format!("shutdown: {err}")),
    }
}

fn session_config() -> SessionConfig {
    SessionConfig::new(std::env::temp_dir())
}

/// One session alone, then all of them at once.
async fn sessions(client: &Client, traffic: &Traffic, sizes: &Sizes) -> Measured {
    let single = session(client.clone()).await;
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..sizes.sessions {
        tasks.spawn(session(client.clone()));
    }
    let mut all = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        all.push(joined.unwrap_or_else(|err| Err(format!("the session's task failed: {err}"))));
    }
    Measured::sessions(single, all, started.elapsed(), traffic, sizes)
}

async fn session(client: Client) -> Result<Turn, String> {
    let started = Instant::now();
    let session = client
        .start_session(session_config())
        .await
        .map_err(|err| format!("start_session: {err}"))?;
    let mut turn = ask(&session, Scenario::Sessions).await?;
    turn.elapsed = started.elapsed();
    Ok(turn)
}

async fn ask(session: &codexrt::Session, scenario: Scenario) -> Result<Turn, String> {
    let started = Instant::now();
    let mut stream = session
        .ask_stream(PROMPT)
        .await
        .map_err(|err| format!("ask_stream: {err}"))?;
    let mut turn = Turn {
        turn_id: stream.turn_id().to_owned(),
        ..Turn::default()
    };
    let consumer = scenario.consumer();
    let reading = async {
        while let Some(event) = stream.next().await {
            consumer.event().await;
            match event {
                SessionEvent::TextDelta { delta, .. } => turn.text.push_str(&delta),
                SessionEvent::Notification(notification) => {
                    if let ServerNotification::ItemCompleted(completed) = &*notification
                        && let ThreadItemKind::CommandExecution {
                            status: CommandExecutionStatus::Completed,
                            ..
                        } = completed.item.kind
                    {
                        turn.commands_completed += 1;
                    }
                }
                SessionEvent::Finished(Ok(_)) => turn.completed = true,
                SessionEvent::Finished(Err(err)) => turn.ending = Some(err.to_string()),
                _ => {}
            }
        }
        Ok(())
    };
    consumer.guard(reading).await?;
    turn.elapsed = started.elapsed();
    Ok(turn)
}
