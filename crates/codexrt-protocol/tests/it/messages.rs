//! The method-level API: `ServerNotification` and `ServerRequest` decode
//! every method of the pinned manifest into its typed variant and write it
//! back; the traits name methods and responses; the method tables match the
//! manifest.

use codexrt_protocol::types::{
    AccountLogoutParams, CommandExecutionApprovalDecision, CommandExecutionRequestApprovalParams,
    CommandExecutionRequestApprovalResponse, InitializedNotification, LogoutAccountResponse,
    ThreadStartParams, ThreadStartResponse,
};
use codexrt_protocol::{
    ClientNotification, ClientRequest, DecodeError, ServerNotification, ServerRequest,
    ServerRequestParams, methods,
};
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::schema::{PINNED, Sampler, definitions, manifest};

fn raw(value: &Value) -> Box<RawValue> {
    RawValue::from_string(value.to_string()).unwrap()
}

/// Decodes a sample of every method's params through `decode`, then checks
/// the method name, that no `Unknown` is involved and that serializing
/// gives back `{"method", "params"}`.
fn check_all<T: serde::Serialize + serde::de::DeserializeOwned + std::fmt::Debug>(
    kind: &str,
    decode: impl Fn(&str, Option<&RawValue>) -> Result<T, DecodeError>,
    method_of: impl Fn(&T) -> String,
) -> usize {
    let defs = definitions(PINNED, "experimental");
    let sampler = Sampler::new(&defs);
    let mut checked = 0;
    for m in manifest(PINNED, kind) {
        let params = m.params.as_ref().map(|p| sampler.sample(&defs[p.as_str()]));
        let raw_params = params.as_ref().map(raw);
        let decoded = decode(&m.method, raw_params.as_deref()).unwrap_or_else(|err| {
            panic!("{}: {err}: {:?}", m.method, std::error::Error::source(&err))
        });
        let debug = format!("{decoded:?}");
        assert!(
            !debug.contains("Unknown(") && !debug.contains("Unknown {"),
            "{}: {debug}",
            m.method
        );
        assert_eq!(method_of(&decoded), m.method);
        let mut expected = json!({ "method": m.method });
        if let Some(params) = params {
            expected["params"] = params;
        }
        assert_eq!(serde_json::to_value(&decoded).unwrap(), expected);
        // The same body read as a whole message, with a member this layer
        // does not read.
        let mut body = expected.clone();
        body["emittedAtMs"] = json!(1);
        let read: T = serde_json::from_str(&body.to_string())
            .unwrap_or_else(|err| panic!("{}: {err}", m.method));
        assert_eq!(serde_json::to_value(&read).unwrap(), expected);
        checked += 1;
    }
    checked
}

#[test]
fn every_server_notification_decodes_into_its_variant() {
    let checked = check_all("serverNotifications", ServerNotification::decode, |n| {
        n.method().to_owned()
    });
    assert_eq!(checked, 87);
}

#[test]
fn every_server_request_decodes_into_its_variant() {
    let checked = check_all("serverRequests", ServerRequest::decode, |r| {
        r.method().to_owned()
    });
    // 11 at 0.169.0, whose experimental `currentTime/read` 0.171.0 dropped.
    assert_eq!(checked, 10);
}

#[test]
fn bad_params_of_a_known_method_are_a_decode_error() {
    let params = raw(&json!({"threadId": 7}));
    let err = ServerNotification::decode("turn/completed", Some(&params)).unwrap_err();
    assert_eq!(err.method, "turn/completed");
    assert_eq!(
        err.to_string(),
        "cannot decode the params of `turn/completed`"
    );
    assert_eq!(
        err.source.to_string(),
        "invalid type: integer `7`, expected a string at line 1 column 13"
    );
    // Params a struct needs cannot be missing.
    let err = ServerRequest::decode("item/tool/call", None).unwrap_err();
    assert_eq!(err.method, "item/tool/call");
}

#[test]
fn unknown_methods_keep_their_params_and_compare_by_json_text() {
    let params = raw(&json!({"x": [1, 2]}));
    let decoded = ServerRequest::decode("brand/new", Some(&params)).unwrap();
    assert_eq!(decoded.method(), "brand/new");
    assert_eq!(
        decoded,
        ServerRequest::decode("brand/new", Some(&params)).unwrap()
    );
    assert_ne!(decoded, ServerRequest::decode("brand/new", None).unwrap());
    assert_eq!(
        serde_json::to_value(&decoded).unwrap(),
        json!({"method": "brand/new", "params": {"x": [1, 2]}})
    );
    let bare = ServerNotification::decode("brand/new", None).unwrap();
    assert_eq!(
        serde_json::to_value(&bare).unwrap(),
        json!({"method": "brand/new"})
    );
}

#[test]
fn whole_messages_are_read_with_their_params_decoded() {
    let line = r#"{"method":"thread/name/updated","params":{"threadId":"t1","threadName":"n"},"emittedAtMs":3}"#;
    let ServerNotification::ThreadNameUpdated(params) = serde_json::from_str(line).unwrap() else {
        panic!("not ThreadNameUpdated");
    };
    assert_eq!(
        (params.thread_id.as_str(), params.thread_name.as_deref()),
        ("t1", Some("n"))
    );
    let unknown: ServerRequest = serde_json::from_str(r#"{"id":0,"method":"x/y"}"#).unwrap();
    assert_eq!(
        unknown,
        ServerRequest::Unknown {
            method: "x/y".to_owned(),
            params: None
        }
    );
    let err = serde_json::from_str::<ServerNotification>(
        r#"{"method":"turn/completed","params":{"threadId":7}}"#,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot decode the params of `turn/completed`: invalid type: integer `7`, \
         expected a string at line 1 column 13"
    );
}

#[test]
fn traits_name_methods_and_responses() {
    fn method<P: ClientRequest>(_: &P) -> (&'static str, bool) {
        (P::METHOD, P::EXPERIMENTAL)
    }
    assert_eq!(
        method(&ThreadStartParams::default()),
        ("thread/start", false)
    );
    assert_eq!(method(&AccountLogoutParams), ("account/logout", false));
    let defs = definitions(PINNED, "experimental");
    let sample = Sampler::new(&defs).samples("ThreadStartResponse").remove(0);
    let response: ThreadStartResponse = serde_json::from_value(sample).unwrap();
    let _: <ThreadStartParams as ClientRequest>::Response = response;
    let _: <AccountLogoutParams as ClientRequest>::Response = LogoutAccountResponse {};

    assert_eq!(
        (
            <InitializedNotification as ClientNotification>::METHOD,
            <InitializedNotification as ClientNotification>::EXPERIMENTAL
        ),
        ("initialized", false)
    );
    assert_eq!(
        serde_json::to_value(InitializedNotification).unwrap(),
        Value::Null
    );

    assert_eq!(
        CommandExecutionRequestApprovalParams::METHOD,
        "item/commandExecution/requestApproval"
    );
    let answer: <CommandExecutionRequestApprovalParams as ServerRequestParams>::Response =
        CommandExecutionRequestApprovalResponse {
            decision: CommandExecutionApprovalDecision::Accept,
        };
    assert_eq!(
        serde_json::to_value(answer).unwrap(),
        json!({"decision": "accept"})
    );
    let amended: CommandExecutionRequestApprovalResponse = serde_json::from_value(json!({
        "decision": {"acceptWithExecpolicyAmendment": {"execpolicy_amendment": ["ls"]}}
    }))
    .unwrap();
    assert_eq!(
        amended.decision,
        CommandExecutionApprovalDecision::AcceptWithExecpolicyAmendment {
            execpolicy_amendment: vec!["ls".to_owned()]
        }
    );
}

#[test]
fn experimental_fields_name_what_is_set() {
    let mut params = ThreadStartParams::default();
    assert_eq!(params.experimental_fields(), Vec::<&str>::new());
    params.experimental_raw_events = Some(true);
    params.model = Some("m".to_owned());
    assert_eq!(params.experimental_fields(), vec!["experimentalRawEvents"]);
    let nested: codexrt_protocol::types::ThreadItemsListParams = serde_json::from_value(json!({
        "threadId": "t", "deferOutput": {"mcpToolCall": false}
    }))
    .unwrap();
    assert_eq!(
        nested.experimental_fields(),
        vec!["deferOutput.mcpToolCall"]
    );
}

#[test]
fn method_tables_match_the_manifest() {
    let names = |kind: &str| -> Vec<String> {
        manifest(PINNED, kind)
            .into_iter()
            .map(|m| m.method)
            .collect()
    };
    let table = |list: &[&str]| -> Vec<String> { list.iter().map(|m| (*m).to_owned()).collect() };
    assert_eq!(table(methods::ALL_CLIENT_REQUESTS), names("clientRequests"));
    assert_eq!(
        table(methods::ALL_CLIENT_NOTIFICATIONS),
        names("clientNotifications")
    );
    assert_eq!(
        table(methods::ALL_SERVER_NOTIFICATIONS),
        names("serverNotifications")
    );
    assert_eq!(table(methods::ALL_SERVER_REQUESTS), names("serverRequests"));
    assert_eq!(
        [
            methods::ALL_CLIENT_REQUESTS.len(),
            methods::ALL_CLIENT_NOTIFICATIONS.len(),
            methods::ALL_SERVER_NOTIFICATIONS.len(),
            methods::ALL_SERVER_REQUESTS.len()
        ],
        [189, 1, 87, 10]
    );
    assert_eq!(methods::THREAD_START, "thread/start");
    assert_eq!(methods::ITEM_AGENT_MESSAGE_DELTA, "item/agentMessage/delta");
}
