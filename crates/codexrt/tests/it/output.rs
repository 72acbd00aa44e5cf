//! Structured output over the fake: an invalid output schema fails before
//! anything is sent with it, and an answer is read as JSON into a type.

use codexrt::SessionConfig;
use codexrt_testkit::fake::{FakeScript, Handshake, Step};
use serde::Deserialize;

use crate::support::{answer, connect, finish, thread_opened, turn_started};

#[derive(Debug, PartialEq, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
struct Answer {
    ok: bool,
    reason: Option<String>,
}

#[tokio::test]
async fn parse_reads_the_answer_or_keeps_it_with_serdes_error() {
    let script = FakeScript::new()
        .handshake(Handshake::new())
        .step(Step::respond_to("thread/start", thread_opened("t1")))
        .step(turn_started("u1"))
        .steps(answer("u1", &["{\"ok\":true,", "\"reason\":null}"]))
        .step(turn_started("u2"))
        .steps(answer("u2", &["{\"ok\":\"yes\"}"]))
        .step(Step::expect_close());
    let (client, fake) = connect(script).await;
    let session = client
        .start_session(SessionConfig::new("/w"))
        .await
        .unwrap();
    let first = session.ask("first").await.unwrap();
    assert_eq!(
        first.parse::<Answer>().unwrap(),
        Answer {
            ok: true,
            reason: None
        }
    );
    let second = session.ask("second").await.unwrap();
    let error = second.parse::<Answer>().unwrap_err();
    assert_eq!(
        (
            error.thread_id.as_str(),
            error.turn_id.as_str(),
            error.text.as_str()
        ),
        ("t1", "u2", "{\"ok\":\"yes\"}")
    );
    assert_eq!(
        error.source.to_string(),
        "invalid type: string \"yes\", expected a boolean at line 1 column 11"
    );
    assert_eq!(
        error.to_string(),
        "the answer of turn u2 of thread t1 is not the JSON expected: \"{\\\"ok\\\":\\\"yes\\\"}\""
    );
    finish(client, fake).await;
}

#[cfg(feature = "schema-check")]
mod checked {
    use codexrt::hooks::{
        HookContext, HookEntry, HookError, HookSet, Matcher, Phase, Verdict, lifecycle_fn,
    };
    use codexrt::{ClientError, PromptRunError, RunProfile, SessionConfig};
    use codexrt_testkit::fake::{FakeScript, Handshake, Step};
    use serde_json::{Value, json};

    use crate::support::{connect, finish, thread_opened};

    /// What the check says about [`bad_schema`].
    const BAD_PROBLEM: &str = "at /properties/ok/type: \"no-such-type\" is not valid under any \
                               of the schemas listed in the 'anyOf' keyword";

    /// A schema whose `type` names no JSON type.
    fn bad_schema() -> Value {
        json!({"type": "object", "properties": {"ok": {"type": "no-such-type"}}})
    }

    /// The problem of a [`ClientError::InvalidOutputSchema`], or a panic.
    fn schema_problem(error: &ClientError) -> &str {
        match error {
            ClientError::InvalidOutputSchema { problem } => problem,
            other => panic!("not an invalid output schema: {other:?}"),
        }
    }

    fn prompt_schema_problem(error: &PromptRunError) -> &str {
        match error {
            PromptRunError::Client(error) => schema_problem(error),
            other => panic!("not a client error: {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_run_with_an_invalid_schema_sends_nothing() {
        let script = FakeScript::new()
            .handshake(Handshake::new())
            .step(Step::expect_close());
        let (client, fake) = connect(script).await;
        let profile = RunProfile::new().output_schema(bad_schema());
        let error = client
            .run_with_profile("/w", "check it", profile)
            .await
            .unwrap_err();
        assert_eq!(prompt_schema_problem(&error), BAD_PROBLEM);
        let log = finish(client, fake).await;
        assert_eq!(log.methods(), ["initialize", "initialized"]);
    }

    #[tokio::test]
    async fn a_session_with_an_invalid_schema_does_not_start() {
        let script = FakeScript::new()
            .handshake(Handshake::new())
            .step(Step::expect_close());
        let (client, fake) = connect(script).await;
        let config = SessionConfig::new("/w").output_schema(json!("not a schema"));
        let error = client.start_session(config).await.unwrap_err();
        assert_eq!(
            schema_problem(&error),
            "\"not a schema\" is not of types \"boolean\", \"object\""
        );
        let log = finish(client, fake).await;
        assert_eq!(log.methods(), ["initialize", "initialized"]);
    }

    #[tokio::test]
    async fn a_schema_a_pre_turn_hook_breaks_stops_the_turn_before_it_is_sent() {
        let script = FakeScript::new()
            .handshake(Handshake::new())
            .step(Step::respond_to("thread/start", thread_opened("t1")))
            .step(Step::respond_to("thread/start", thread_opened("t2")))
            .step(Step::expect_close());
        let (client, fake) = connect(script).await;
        let hook = lifecycle_fn(|ctx: HookContext| async move {
            let mut plan = ctx.plan.ok_or_else(|| HookError::failed("no plan"))?;
            plan.output_schema = Some(bad_schema());
            Ok(Verdict::Mutate(plan))
        });
        let hooks = HookSet::new().hook(
            HookEntry::lifecycle("breaks", hook).matcher(Matcher::any().phase(Phase::PreTurn)),
        );
        let session = client
            .start_session(SessionConfig::new("/w").hooks(hooks.clone()))
            .await
            .unwrap();
        let error = session.ask("check it").await.unwrap_err();
        assert_eq!(prompt_schema_problem(&error), BAD_PROBLEM);
        assert_eq!(session.running_turn(), None);
        // A run's PreTurn comes after its thread started.
        let error = client
            .run_with_profile("/w", "check it", RunProfile::new().hooks(hooks))
            .await
            .unwrap_err();
        assert_eq!(prompt_schema_problem(&error), BAD_PROBLEM);
        let log = finish(client, fake).await;
        assert_eq!(
            log.methods(),
            ["initialize", "initialized", "thread/start", "thread/start"]
        );
    }
}

#[cfg(feature = "schemars")]
mod typed {
    use codexrt::{PromptRunError, SessionConfig};
    use codexrt_testkit::fake::{FakeScript, Handshake, Step};
    use serde_json::Value;

    use super::Answer;
    use crate::support::{answer, connect, finish, params_of, thread_opened, turn_started};

    #[tokio::test]
    async fn run_json_and_ask_json_send_the_types_schema_and_read_the_answer() {
        let script = FakeScript::new()
            .handshake(Handshake::new())
            .step(Step::respond_to("thread/start", thread_opened("t1")))
            .step(turn_started("u1"))
            .steps(answer("u1", &["{\"ok\":false,\"reason\":\"no tests\"}"]))
            .step(Step::respond_to("thread/start", thread_opened("t1")))
            .step(turn_started("u2"))
            .steps(answer("u2", &["{\"ok\":true,\"reason\":null}"]))
            .step(turn_started("u3"))
            .steps(answer("u3", &["not json"]))
            .step(turn_started("u4"))
            .steps(answer("u4", &["plain"]))
            .step(Step::expect_close());
        let (client, fake) = connect(script).await;
        let verdict: Answer = client.run_json("/w", "judge it").await.unwrap();
        assert_eq!(
            verdict,
            Answer {
                ok: false,
                reason: Some("no tests".to_owned())
            }
        );
        let session = client
            .start_session(SessionConfig::new("/w"))
            .await
            .unwrap();
        let verdict: Answer = session.ask_json("judge again").await.unwrap();
        assert_eq!(
            verdict,
            Answer {
                ok: true,
                reason: None
            }
        );
        let error = session.ask_json::<Answer>("once more").await.unwrap_err();
        let PromptRunError::InvalidOutput(error) = error else {
            panic!("{error:?}")
        };
        assert_eq!(error.text, "not json");
        assert_eq!(error.turn_id, "u3");
        // `ask_json`'s schema is for its own turn: a plain ask sends none.
        assert_eq!(session.ask("plain").await.unwrap().text(), "plain");

        let log = finish(client, fake).await;
        let schema = codexrt::output_schema_for::<Answer>();
        let schemas: Vec<Value> = params_of(&log, "turn/start")
            .into_iter()
            .map(|params| params["outputSchema"].clone())
            .collect();
        assert_eq!(
            schemas,
            [schema.clone(), schema.clone(), schema, Value::Null]
        );
    }
}
