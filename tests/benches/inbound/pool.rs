//! The pool client: `codexrt::Pool` over four fake app-servers, each
//! session placed on the least loaded one and read through `ask_stream`
//! to `Finished`, the text of every turn checked exact, and every server
//! given a share. Every server plays
//! the same turn and numbers its turns from 0, so a turn's text follows
//! from its id alone, whichever server played it.

use std::time::Instant;

use codexrt::{ClientConfig, Pool, PoolConfig, PoolEndpoint, SessionConfig, SessionEvent};

use crate::FAKE_APP_SERVER;
use crate::scenario::{Measured, POOL_SERVERS, PROMPT, Scenario, Sizes, Turn};

pub(crate) async fn run(scenario: Scenario, sizes: &Sizes) -> Measured {
    if scenario != Scenario::Sessions {
        return Measured::failed(format!(
            "the pool runs only `sessions`, not `{}`",
            scenario.name()
        ));
    }
    let traffic = scenario.traffic(sizes);
    let endpoints = (0..POOL_SERVERS).map(|index| {
        let mut config = ClientConfig::new()
            .client_info("codexrt-bench", "0.1.0")
            .program(FAKE_APP_SERVER);
        for arg in traffic.args() {
            config = config.arg(arg);
        }
        PoolEndpoint::new(format!("fake-{index}"), config)
    });
    // Every session at once: the places are not what is measured.
    let places = usize::try_from(sizes.sessions).unwrap_or(usize::MAX);
    let config = PoolConfig::new(endpoints).max_sessions_per_endpoint(places);
    let pool = match Pool::connect(config).await {
        Ok(pool) => pool,
        Err(err) => return Measured::failed(format!("Pool::connect: {err}")),
    };
    let single = session(pool.clone()).await;
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..sizes.sessions {
        tasks.spawn(session(pool.clone()));
    }
    let mut all = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        all.push(joined.unwrap_or_else(|err| Err(format!("the session's task failed: {err}"))));
    }
    let measured = Measured::sessions(single, all, started.elapsed(), &traffic, sizes);
    let spread = spread(&pool, sizes);
    match (pool.shutdown().await, spread) {
        (Ok(()), Ok(())) => measured,
        (Err(err), _) => Measured::failed(format!("shutdown: {err}")),
        (_, Err(err)) => Measured::failed(err),
    }
}

/// Checks that every session was placed and every server took some: how
/// many each took depends on how fast the others finished theirs.
fn spread(pool: &Pool, sizes: &Sizes) -> Result<(), String> {
    let stats = pool.stats();
    let given: Vec<u64> = stats.endpoints.iter().map(|e| e.sessions_total).collect();
    let turns: u64 = stats.endpoints.iter().map(|e| e.turns).sum();
    let total: u64 = given.iter().sum();
    if total != sizes.sessions + 1 || turns != total || given.contains(&0) {
        return Err(format!(
            "sessions per server {given:?}, {turns} turns, for {} sessions",
            sizes.sessions + 1
        ));
    }
    Ok(())
}

async fn session(pool: Pool) -> Result<Turn, String> {
    let started = Instant::now();
    let session = pool
        .start_session(SessionConfig::new(std::env::temp_dir()))
        .await
        .map_err(|err| format!("start_session: {err}"))?;
    let mut stream = session
        .ask_stream(PROMPT)
        .await
        .map_err(|err| format!("ask_stream: {err}"))?;
    let mut turn = Turn {
        turn_id: stream.turn_id().to_owned(),
        ..Turn::default()
    };
    let consumer = Scenario::Sessions.consumer();
    let reading = async {
        while let Some(event) = stream.next().await {
            consumer.event().await;
            match event {
                SessionEvent::TextDelta { delta, .. } => turn.text.push_str(&delta),
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
