//! Hooks through the facade over the fake: what lifecycle hooks change
//! reaches the wire exactly, a block sends nothing, and the approval loop
//! owns the server requests.

use std::sync::{Arc, Mutex};

use codexrt::hooks::{
    HookContext, HookEntry, HookError, HookSet, Matcher, Phase, ToolEntry, ToolOutput, Verdict,
    lifecycle_fn, tool_fn,
};
use codexrt::protocol::types::SandboxMode;
use codexrt::{ClientError, PromptRunError, RunProfile, SessionConfig};
use codexrt_testkit::fake::{FakeScript, Handshake, Step};
use serde_json::json;

use crate::support::{
    answer, config, connect, connect_with, finish, params_of, thread_opened, turn_ended,
    turn_started,
};

/// A lifecycle hook for `phase` that gives `verdict` for every plan, with
/// the plan changed by `change` when the verdict is to mutate.
fn mutate(phase: Phase, change: fn(&mut codexrt::hooks::Plan)) -> HookEntry {
    let hook = lifecycle_fn(move |ctx: HookContext| async move {
        let mut plan = ctx
            .plan
            .clone()
            .ok_or_else(|| HookError::failed("no plan"))?;
        change(&mut plan);
        Ok(Verdict::Mutate(plan))
    });
    HookEntry::lifecycle(format!("{phase}"), hook).matcher(Matcher::any().phase(phase))
}

#[tokio::test]
async fn pre_run_and_pre_turn_changes_reach_the_wire() {
    let script = FakeScript::new()
        .handshake(Handshake::new())
        .step(Step::respond_to("thread/start", thread_opened("t1")))
        .step(turn_started("u1"))
        .steps(answer("u1", &["done"]))
        .step(Step::expect_close());
    let (client, fake) = connect(script).await;
    let hooks = HookSet::new()
        .hook(mutate(Phase::PreRun, |plan| {
            plan.model = Some("from-pre-run".to_owned());
            plan.sandbox = Some(SandboxMode::WorkspaceWrite);
        }))
        .hook(mutate(Phase::PreTurn, |plan| {
            plan.prompt = Some("rewritten".to_owned());
            plan.extra_context.push("more".to_owned());
            plan.model = Some("from-pre-turn".to_owned());
        }));
    let result = client
        .run_with_profile("/w", "original", RunProfile::new().hooks(hooks))
        .await
        .unwrap();
    assert_eq!(result.text(), "done");
    let log = finish(client, fake).await;
    assert_eq!(
        params_of(&log, "thread/start"),
        [json!({"cwd": "/w", "sandbox": "workspace-write", "model": "from-pre-run"})]
    );
    assert_eq!(
        params_of(&log, "turn/start"),
        [json!({
            "threadId": "t1",
            "input": [{"type": "text", "text": "rewritten"}, {"type": "text", "text": "more"}],
            "model": "from-pre-turn",
        })]
    );
}

#[tokio::test]
async fn a_pre_session_block_sends_nothing() {
    let script = FakeScript::new()
        .handshake(Handshake::new())
        .step(Step::expect_close());
    let (client, fake) = connect(script).await;
    let block = lifecycle_fn(|_| async { Ok(Verdict::block("no sessions today")) });
    let config =
        SessionConfig::new("/w").hooks(HookSet::new().hook(HookEntry::lifecycle("gate", block)));
    let err = client.start_session(config).await.unwrap_err();
    let ClientError::Blocked(blocked) = err else {
        panic!("{err:?}")
    };
    assert_eq!(blocked.phase, Phase::PreSessionStart);
    assert_eq!(blocked.hook, "gate");
    assert_eq!(blocked.reason, "no sessions today");
    let log = finish(client, fake).await;
    assert_eq!(
        params_of(&log, "thread/start"),
        Vec::<serde_json::Value>::new()
    );
}

#[tokio::test]
async fn a_failing_pre_turn_hook_blocks_the_run_after_its_thread_started() {
    let script = FakeScript::new()
        .handshake(Handshake::new())
        .step(Step::respond_to("thread/start", thread_opened("t1")))
        .step(Step::expect_close());
    let (client, fake) = connect(script).await;
    let seen: Arc<Mutex<Vec<Phase>>> = Arc::default();
    let recorder = Arc::clone(&seen);
    let post = lifecycle_fn(move |ctx: HookContext| {
        let recorder = Arc::clone(&recorder);
        async move {
            recorder.lock().unwrap().push(ctx.phase);
            Ok(Verdict::Continue)
        }
    });
    let failing = lifecycle_fn(|_| async { Err(HookError::failed("broken")) });
    let hooks = HookSet::new()
        .hook(HookEntry::lifecycle("fails", failing).matcher(Matcher::any().phase(Phase::PreTurn)))
        .hook(HookEntry::lifecycle("post", post).matcher(Matcher::any().phase(Phase::PostRun)));
    let report = hooks.report();
    let err = client
        .run_with_profile("/w", "hi", RunProfile::new().hooks(hooks))
        .await
        .unwrap_err();
    let PromptRunError::Blocked(blocked) = err else {
        panic!("{err:?}")
    };
    assert_eq!(
        (blocked.phase, blocked.hook.as_str()),
        (Phase::PreTurn, "fails")
    );
    // PostRun still saw the run end.
    assert_eq!(*seen.lock().unwrap(), [Phase::PostRun]);
    assert_eq!(report.issues().len(), 1);
    let log = finish(client, fake).await;
    assert_eq!(
        params_of(&log, "turn/start"),
        Vec::<serde_json::Value>::new()
    );
}

#[tokio::test]
async fn the_approval_loop_owns_the_server_requests() {
    let script = FakeScript::new()
        .handshake(Handshake::new())
        .step(Step::expect_close());
    let tool = tool_fn(|_| async { Ok(ToolOutput::text("x")) });
    let hooks = HookSet::new().tool(ToolEntry::new(
        "lookup",
        "looks up",
        json!({"type": "object"}),
        tool,
    ));
    let (client, fake) = connect_with(script, config().hooks(hooks)).await;
    let client = client.unwrap();
    // The client took them as it connected.
    assert!(client.runtime().server_requests().is_none());
    finish(client, fake).await;
}

#[tokio::test]
async fn hooks_cannot_start_when_the_requests_were_taken() {
    let script = FakeScript::new()
        .handshake(Handshake::new())
        .step(Step::expect_close());
    let (client, fake) = connect(script).await;
    let _mine = client.runtime().server_requests().unwrap();
    let accept = codexrt::hooks::hook_fn(|_| async { Ok(codexrt::hooks::Decision::Accept) });
    let config = SessionConfig::new("/w").hooks(HookSet::new().hook(HookEntry::new("a", accept)));
    let err = client.start_session(config).await.unwrap_err();
    assert!(
        matches!(err, ClientError::Hooks(HookError::RequestsTaken)),
        "{err:?}"
    );
    finish(client, fake).await;
}

#[tokio::test]
async fn dynamic_tools_are_declared_on_thread_start() {
    let script = FakeScript::new()
        .handshake(Handshake::new())
        .step(Step::respond_to("thread/start", thread_opened("t1")))
        .step(Step::expect_close());
    let tool = tool_fn(|_| async { Ok(ToolOutput::text("x")) });
    let schema = json!({"type": "object", "properties": {"q": {"type": "string"}}});
    let hooks = HookSet::new().tool(ToolEntry::new("lookup", "looks up", schema.clone(), tool));
    let (client, fake) = connect_with(script, config().enable_experimental_api()).await;
    let client = client.unwrap();
    let session = client
        .start_session(SessionConfig::new("/w").hooks(hooks))
        .await
        .unwrap();
    drop(session);
    let log = finish(client, fake).await;
    assert_eq!(
        params_of(&log, "thread/start"),
        [json!({
            "cwd": "/w", "sandbox": "read-only",
            "dynamicTools": [{"type": "function", "name": "lookup", "description": "looks up", "inputSchema": schema}],
        })]
    );
}

#[tokio::test]
async fn tool_use_hooks_make_codex_ask_unless_a_policy_is_set() {
    let script = FakeScript::new()
        .handshake(Handshake::new())
        .step(Step::respond_to("thread/start", thread_opened("t1")))
        .step(Step::respond_to("thread/start", thread_opened("t2")))
        .step(Step::expect_close());
    let accept = codexrt::hooks::hook_fn(|_| async { Ok(codexrt::hooks::Decision::Accept) });
    let hooks = HookSet::new().hook(HookEntry::new("a", accept));
    let (client, fake) = connect_with(script, config().hooks(hooks)).await;
    let client = client.unwrap();
    let asked = client
        .start_session(SessionConfig::new("/w"))
        .await
        .unwrap();
    let explicit = SessionConfig::new("/w")
        .approval_policy(codexrt::protocol::types::AskForApproval::OnRequest);
    let kept = client.start_session(explicit).await.unwrap();
    drop((asked, kept));
    let log = finish(client, fake).await;
    assert_eq!(
        params_of(&log, "thread/start"),
        [
            json!({"cwd": "/w", "sandbox": "read-only", "approvalPolicy": "untrusted"}),
            json!({"cwd": "/w", "sandbox": "read-only", "approvalPolicy": "on-request"}),
        ]
    );
}

#[tokio::test]
async fn tool_hooks_see_the_model_a_pre_turn_hook_chose() {
    let approval = |id: u64| {
        Step::request(
            id,
            "item/commandExecution/requestApproval",
            json!({"itemId": "i", "startedAtMs": 0, "threadId": "t1", "turnId": "u1",
                   "command": "make", "cwd": "/w"}),
        )
    };
    let script = FakeScript::new()
        .handshake(Handshake::new())
        .step(Step::respond_to("thread/start", thread_opened("t1")))
        .step(Step::respond_to(
            "turn/start",
            json!({"turn": {"id": "u1", "items": [], "status": "inProgress"}}),
        ))
        .step(approval(1))
        .step(Step::expect_response(1))
        // The dropped stream interrupts its turn.
        .step(Step::respond_to("turn/interrupt", json!({})))
        .step(turn_ended("u1", "interrupted"))
        .step(Step::expect_close());
    let seen: Arc<Mutex<Vec<Option<String>>>> = Arc::default();
    let recorder = Arc::clone(&seen);
    let record = codexrt::hooks::hook_fn(move |ctx| {
        let recorder = Arc::clone(&recorder);
        async move {
            recorder.lock().unwrap().push(ctx.model.clone());
            Ok(codexrt::hooks::Decision::decline("recorded"))
        }
    });
    let hooks = HookSet::new()
        .hook(HookEntry::new("record", record))
        .hook(mutate(Phase::PreTurn, |plan| {
            plan.model = Some("from-pre-turn".to_owned());
        }));
    let (client, fake) = connect(script).await;
    let session = client
        .start_session(SessionConfig::new("/w").hooks(hooks))
        .await
        .unwrap();
    let stream = session.ask_stream("go").await.unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(5), async {
        while seen.lock().unwrap().is_empty() {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap();
    drop(stream);
    assert_eq!(*seen.lock().unwrap(), [Some("from-pre-turn".to_owned())]);
    // The session keeps the turn until codex ended it.
    tokio::time::timeout(std::time::Duration::from_secs(5), async {
        while session.running_turn().is_some() {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap();
    drop(session);
    finish(client, fake).await;
}
