//! The facade client: `codexrt::Client` started on the fake app-server, a
//! `Session`, and `ask_stream` read to `Finished`; approvals accepted by a
//! `CommandRules` hook that allows every command. The same client runs
//! over stdio (`facade`) or over a WebSocket (`websocket`).

use std::process::Stdio;
use std::time::{Duration, Instant};

use codexrt::hooks::{CommandRules, HookEntry, HookSet};
use codexrt::protocol::ServerNotification;
use codexrt::protocol::types::{CommandExecutionStatus, ThreadItemKind};
use codexrt::{Client, ClientConfig, SessionConfig, SessionEvent};
use codexrt_testkit::fake::Traffic;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::FAKE_APP_SERVER;
use crate::scenario::{Measured, PROMPT, Scenario, Sizes, Turn};

/// How the client reaches the fake app-server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Over {
    /// `Client::connect`: the client spawns the server and talks over its
    /// stdin and stdout.
    Stdio,
    /// `Client::connect_url`: the server is started listening on a
    /// loopback WebSocket, and the client connects to it.
    WebSocket,
}

pub(crate) async fn run(scenario: Scenario, sizes: &Sizes, over: Over) -> Measured {
    let traffic = scenario.traffic(sizes);
    let mut config = ClientConfig::new().client_info("codexrt-bench", "0.1.0");
    if scenario == Scenario::Approvals {
        let accept_all = HookEntry::new("accept-all", CommandRules::new().allow("*"));
        config = config.hooks(HookSet::new().hook(accept_all));
    }
    // The listening server, kept until the end of the run.
    let mut server = None;
    let connected = match over {
        Over::Stdio => {
            config = config.program(FAKE_APP_SERVER);
            for arg in traffic.args() {
                config = config.arg(arg);
            }
            Client::connect(config)
                .await
                .map_err(|err| format!("Client::connect: {err}"))
        }
        Over::WebSocket => match listen(&traffic).await {
            Ok((child, url)) => {
                server = Some(child);
                Client::connect_url(&url, config)
                    .await
                    .map_err(|err| format!("Client::connect_url: {err}"))
            }
            Err(err) => Err(err),
        },
    };
    let client = match connected {
        Ok(client) => client,
        Err(err) => return Measured::failed(err),
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
    let shutdown = client.shutdown().await;
    if let Some(mut server) = server {
        let _ = server.kill().await;
    }
    match shutdown {
        Ok(_) => measured,
        Err(err) => Measured::failed(format!("shutdown: {err}")),
    }
}

/// Starts the fake app-server listening on a loopback WebSocket and reads
/// the address it says it listens on.
async fn listen(traffic: &Traffic) -> Result<(Child, String), String> {
    let mut child = Command::new(FAKE_APP_SERVER)
        .args(traffic.args())
        .args(["--listen", "ws://127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|err| format!("starting the fake app-server: {err}"))?;
    let stderr = child
        .stderr
        .take()
        .ok_or("the fake app-server's stderr was not piped")?;
    let mut lines = BufReader::new(stderr).lines();
    let url = tokio::time::timeout(Duration::from_secs(10), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(url) = line.strip_prefix("listening on: ") {
                return Some(url.to_owned());
            }
        }
        None
    })
    .await
    .ok()
    .flatten()
    .ok_or("the fake app-server never said where it listens")?;
    // Keep reading, so the server never blocks on a full stderr pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok((child, url))
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
