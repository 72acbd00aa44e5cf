//! Typed calls: local refusals that send nothing, and each error kind.

use std::time::Duration;

use codexrt_core::CoreError;
use codexrt_protocol::types::{
    AccountLogoutParams, CollaborationModeListParams, GatewayOAuthReadParams,
    LogoutAccountResponse, TurnStartParams,
};
use codexrt_testkit::fake::{FakeScript, Handshake, Step};
use semver::Version;
use serde_json::json;

use crate::support::{config, connect, connect_with};

fn script() -> FakeScript {
    FakeScript::new().handshake(Handshake::new())
}

#[tokio::test]
async fn typed_and_raw_calls() {
    let script = script()
        .step(Step::respond_to("account/logout", json!({})))
        .step(Step::respond_to("some/newMethod", json!({"ok": true})))
        .step(Step::expect_close());
    let (runtime, fake) = connect(script).await;
    let response = runtime.call(AccountLogoutParams).await.unwrap();
    assert_eq!(response, LogoutAccountResponse {});
    let raw = runtime
        .call_raw("some/newMethod", json!({"x": 1}))
        .await
        .unwrap();
    assert_eq!(raw, json!({"ok": true}));
    runtime.shutdown().await.unwrap();
    let log = fake.finished().await;
    assert!(log.completed(), "{:?}", log.failure);
    assert_eq!(
        log.messages().skip(2).cloned().collect::<Vec<_>>(),
        [
            json!({"id": 2, "method": "account/logout"}),
            json!({"id": 3, "method": "some/newMethod", "params": {"x": 1}}),
        ]
    );
}

#[tokio::test]
async fn a_method_the_version_lacks_is_refused_and_never_sent() {
    let script = FakeScript::new()
        .handshake(Handshake::new().version("0.150.0"))
        .step(Step::expect_close());
    let (runtime, fake) = connect(script).await;
    let error = runtime
        .call(GatewayOAuthReadParams::default())
        .await
        .unwrap_err();
    match error {
        CoreError::MethodUnavailable { method, version } => {
            assert_eq!(method, "account/gatewayOAuth/read");
            assert_eq!(version, Version::new(0, 150, 0));
        }
        other => panic!("{other:?}"),
    }
    runtime.shutdown().await.unwrap();
    let log = fake.finished().await;
    assert!(log.completed(), "{:?}", log.failure);
    assert_eq!(log.methods(), ["initialize", "initialized"]);
}

#[tokio::test]
async fn experimental_methods_and_fields_need_the_opt_in() {
    let (runtime, fake) = connect(script().step(Step::expect_close())).await;
    match runtime.call(CollaborationModeListParams {}).await {
        Err(CoreError::ExperimentalApiRequired { method, fields }) => {
            assert_eq!((method, fields), ("collaborationMode/list", vec![]));
        }
        other => panic!("{other:?}"),
    }
    let turn = TurnStartParams {
        thread_id: "t".to_owned(),
        additional_context: Some(Default::default()),
        ..TurnStartParams::default()
    };
    match runtime.call(turn).await {
        Err(CoreError::ExperimentalApiRequired { method, fields }) => {
            assert_eq!((method, fields), ("turn/start", vec!["additionalContext"]));
        }
        other => panic!("{other:?}"),
    }
    runtime.shutdown().await.unwrap();
    assert_eq!(
        fake.finished().await.methods(),
        ["initialize", "initialized"]
    );

    // With the opt-in, the same call goes out.
    let script = FakeScript::new()
        .step(Step::respond_to(
            "initialize",
            Handshake::new().initialize_result(),
        ))
        .step(Step::expect("initialized"))
        .step(Step::respond_to(
            "collaborationMode/list",
            json!({"data": []}),
        ))
        .step(Step::expect_close());
    let (runtime, fake) = connect_with(script, config().enable_experimental_api()).await;
    let runtime = runtime.unwrap();
    let listed = runtime.call(CollaborationModeListParams {}).await.unwrap();
    assert!(listed.data.is_empty());
    runtime.shutdown().await.unwrap();
    let log = fake.finished().await;
    assert!(log.completed(), "{:?}", log.failure);
    let init = log.messages().next().unwrap();
    assert_eq!(
        init["params"]["capabilities"],
        json!({"experimentalApi": true})
    );
}

#[tokio::test]
async fn peer_errors_and_overload() {
    let script = script()
        .step(Step::expect("account/logout"))
        .step(Step::RespondError {
            code: -32600,
            message: "bad request".to_owned(),
            data: Some(json!({"why": "test"})),
        })
        .step(Step::expect("account/logout"))
        .step(Step::respond_error(-32001, "server overloaded"))
        .step(Step::expect_close());
    let (runtime, _fake) = connect(script).await;
    match runtime.call(AccountLogoutParams).await {
        Err(error @ CoreError::Peer { .. }) => {
            assert!(!error.is_retryable());
            let CoreError::Peer {
                method,
                code,
                message,
                data,
            } = error
            else {
                unreachable!()
            };
            assert_eq!(method, "account/logout");
            assert_eq!((code, message.as_str()), (-32600, "bad request"));
            assert_eq!(data, Some(json!({"why": "test"})));
        }
        other => panic!("{other:?}"),
    }
    match runtime.call(AccountLogoutParams).await {
        Err(error @ CoreError::Overloaded { .. }) => assert!(error.is_retryable()),
        other => panic!("{other:?}"),
    }
    runtime.shutdown().await.unwrap();
}

#[tokio::test]
async fn timeout() {
    let script = script()
        .step(Step::expect("account/logout"))
        .step(Step::expect_close());
    let (result, _fake) =
        connect_with(script, config().call_timeout(Duration::from_millis(200))).await;
    let runtime = result.unwrap();
    match runtime.call(AccountLogoutParams).await {
        Err(CoreError::Timeout {
            method,
            timeout,
            cause,
        }) => {
            assert_eq!(
                (method.as_str(), timeout, cause),
                (
                    "account/logout",
                    Duration::from_millis(200),
                    codexrt_core::TimeoutCause::NoAnswer
                )
            );
        }
        other => panic!("{other:?}"),
    }
    runtime.shutdown().await.unwrap();
}

#[tokio::test]
async fn undecodable_and_malformed_answers() {
    let script = script()
        .step(Step::respond_to("account/logout", json!(5)))
        .step(Step::expect("account/logout"))
        .step(Step::Garbage {
            line: r#"{"id":3,"error":"boom"}"#.to_owned(),
        })
        .step(Step::expect_close());
    let (runtime, _fake) = connect(script).await;
    match runtime.call(AccountLogoutParams).await {
        Err(CoreError::Decode { method, .. }) => assert_eq!(method, "account/logout"),
        other => panic!("{other:?}"),
    }
    match runtime.call(AccountLogoutParams).await {
        Err(CoreError::MalformedResponse { method, .. }) => assert_eq!(method, "account/logout"),
        other => panic!("{other:?}"),
    }
    runtime.shutdown().await.unwrap();
}

#[tokio::test]
async fn process_death_fails_pending_calls_with_the_report() {
    let script = script()
        .step(Step::expect("account/logout"))
        .step(Step::StderrFlood { bytes: 100 })
        .step(Step::Exit { code: 3 });
    let (runtime, _fake) = connect(script).await;
    let error = runtime.call(AccountLogoutParams).await.unwrap_err();
    let report = error
        .close_report()
        .cloned()
        .unwrap_or_else(|| panic!("{error:?}"));
    assert_eq!(report.exit.and_then(|status| status.code()), Some(3));
    assert!(!report.stderr_tail.is_empty());
    // Later calls fail the same way without sending anything.
    let later = runtime.call(AccountLogoutParams).await.unwrap_err();
    assert!(matches!(later, CoreError::Closed { .. }), "{later:?}");
    match runtime.state() {
        codexrt_core::RuntimeState::Closed(closed) => {
            assert_eq!(closed.exit.and_then(|status| status.code()), Some(3));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn overload_is_retried_for_read_only_methods_only() {
    use codexrt_core::RetryPolicy;
    use codexrt_protocol::types::ConfigRequirementsReadParams;

    let policy = RetryPolicy::new().initial_backoff(Duration::from_millis(1));
    let script = script()
        .step(Step::expect("configRequirements/read"))
        .step(Step::respond_error(-32001, "server overloaded"))
        .step(Step::expect("configRequirements/read"))
        .step(Step::respond_error(-32001, "server overloaded"))
        .step(Step::respond_to("configRequirements/read", json!({})))
        // Not idempotent: one attempt only.
        .step(Step::expect("account/logout"))
        .step(Step::respond_error(-32001, "server overloaded"))
        .step(Step::expect_close());
    let (runtime, fake) = connect(script).await;
    let read = runtime
        .call_with_retry(ConfigRequirementsReadParams, &policy)
        .await
        .unwrap();
    assert_eq!(read.requirements, None);
    let error = runtime
        .call_with_retry(AccountLogoutParams, &policy)
        .await
        .unwrap_err();
    assert!(matches!(error, CoreError::Overloaded { .. }), "{error:?}");
    runtime.shutdown().await.unwrap();
    let log = fake.finished().await;
    assert!(log.completed(), "{:?}", log.failure);
    assert_eq!(
        log.methods()[2..],
        [
            "configRequirements/read",
            "configRequirements/read",
            "configRequirements/read",
            "account/logout"
        ]
    );
}
