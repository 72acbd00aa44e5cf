//! Tests of the manifest walker on small hand-written normalized schemas.

use serde_json::{Map, Value, json};

use super::{Manifest, Method, Presence, build, render};

/// A request variant as the normalized schema spells it.
fn request(method: &str, params: Value) -> Value {
    let mut properties = Map::new();
    properties.insert("id".to_owned(), json!({"$ref": "#/definitions/RequestId"}));
    properties.insert(
        "method".to_owned(),
        json!({"type": "string", "enum": [method]}),
    );
    let mut required = vec![json!("id"), json!("method")];
    if !params.is_null() {
        if params.get("$ref").is_some() {
            required.push(json!("params"));
        }
        properties.insert("params".to_owned(), params);
    }
    json!({"type": "object", "properties": properties, "required": required})
}

fn notification(method: &str, params: Option<&str>) -> Value {
    match params {
        Some(name) => json!({
            "type": "object",
            "properties": {
                "method": {"type": "string", "enum": [method]},
                "params": {"$ref": format!("#/definitions/{name}")},
            },
            "required": ["method", "params"],
        }),
        None => json!({
            "type": "object",
            "properties": {"method": {"type": "string", "enum": [method]}},
            "required": ["method"],
        }),
    }
}

fn reference(name: &str) -> Value {
    json!({"$ref": format!("#/definitions/{name}")})
}

/// A normalized schema with the four unions and the named (empty) definitions.
fn schema(
    client_requests: Vec<Value>,
    server_requests: Vec<Value>,
    server_notifications: Vec<Value>,
    names: &[&str],
) -> Value {
    let mut definitions = Map::new();
    for name in names {
        definitions.insert((*name).to_owned(), json!({"type": "object"}));
    }
    definitions.insert(
        "ClientRequest".to_owned(),
        json!({"oneOf": client_requests}),
    );
    definitions.insert(
        "ServerRequest".to_owned(),
        json!({"oneOf": server_requests}),
    );
    definitions.insert(
        "ServerNotification".to_owned(),
        json!({"oneOf": server_notifications}),
    );
    definitions.insert(
        "ClientNotification".to_owned(),
        json!({"oneOf": [notification("initialized", None)]}),
    );
    json!({"definitions": definitions})
}

fn entry(
    method: &str,
    params: Option<&str>,
    presence: Presence,
    response: Option<&str>,
    experimental: bool,
) -> Method {
    Method {
        method: method.to_owned(),
        params: params.map(str::to_owned),
        presence,
        response: response.map(str::to_owned),
        experimental,
    }
}

const DEFINED: &[&str] = &[
    "ThreadStartParams",
    "ThreadStartResponse",
    "GetAccountRateLimitsParams",
    "GetAccountRateLimitsResponse",
    "LogoutAccountResponse",
    "ConfigValueWriteParams",
    "ConfigWriteResponse",
    "MemoryResetResponse",
    "CurrentTimeReadParams",
    "CurrentTimeReadResponse",
    "TurnCompletedNotification",
];

#[test]
fn walks_the_four_unions() {
    let stable = schema(
        vec![
            request("thread/start", reference("ThreadStartParams")),
            request("account/logout", json!({"type": "null"})),
            request("config/value/write", reference("ConfigValueWriteParams")),
        ],
        vec![],
        vec![notification(
            "turn/completed",
            Some("TurnCompletedNotification"),
        )],
        DEFINED,
    );
    let experimental = schema(
        vec![
            request("thread/start", reference("ThreadStartParams")),
            request("account/logout", json!({"type": "null"})),
            // Optional params, listed in either order.
            request(
                "account/rateLimits/read",
                json!({"anyOf": [{"type": "null"}, reference("GetAccountRateLimitsParams")]}),
            ),
            request("config/value/write", reference("ConfigValueWriteParams")),
            // No params property at all.
            request("memory/reset", Value::Null),
        ],
        vec![request(
            "currentTime/read",
            reference("CurrentTimeReadParams"),
        )],
        vec![notification(
            "turn/completed",
            Some("TurnCompletedNotification"),
        )],
        DEFINED,
    );
    let expected = Manifest {
        version: "1.2.3".to_owned(),
        client_requests: vec![
            entry(
                "account/logout",
                None,
                Presence::Absent,
                Some("LogoutAccountResponse"),
                false,
            ),
            entry(
                "account/rateLimits/read",
                Some("GetAccountRateLimitsParams"),
                Presence::Optional,
                Some("GetAccountRateLimitsResponse"),
                true,
            ),
            // Override: the convention would say `ConfigValueWriteResponse`.
            entry(
                "config/value/write",
                Some("ConfigValueWriteParams"),
                Presence::Required,
                Some("ConfigWriteResponse"),
                false,
            ),
            entry(
                "memory/reset",
                None,
                Presence::Absent,
                Some("MemoryResetResponse"),
                true,
            ),
            // Convention.
            entry(
                "thread/start",
                Some("ThreadStartParams"),
                Presence::Required,
                Some("ThreadStartResponse"),
                false,
            ),
        ],
        client_notifications: vec![entry("initialized", None, Presence::Absent, None, false)],
        server_notifications: vec![entry(
            "turn/completed",
            Some("TurnCompletedNotification"),
            Presence::Required,
            None,
            false,
        )],
        server_requests: vec![entry(
            "currentTime/read",
            Some("CurrentTimeReadParams"),
            Presence::Required,
            Some("CurrentTimeReadResponse"),
            true,
        )],
    };
    assert_eq!(build("1.2.3", &stable, &experimental), Ok(expected));
}

#[test]
fn unresolvable_responses_fail() {
    let check_error = |requests: Vec<Value>, expected: &str| {
        let both = schema(requests, vec![], vec![], DEFINED);
        assert_eq!(build("1.2.3", &both, &both), Err(expected.to_owned()));
    };
    let fix = "add or fix its entry in RESPONSE_OVERRIDES (xtask/src/schema/manifest.rs)";
    check_error(
        vec![request("thread/fork", reference("ThreadForkParams"))],
        &format!(
            "method `thread/fork`: response type `ThreadForkResponse` is not defined in the schema; {fix}"
        ),
    );
    check_error(
        vec![request("thread/nothing", json!({"type": "null"}))],
        &format!(
            "method `thread/nothing` has no params, so its response type cannot be derived; {fix}"
        ),
    );
    // `config/value/write` is overridden to `ConfigWriteResponse`; once the
    // schema defines the conventional name as well, the override is stale.
    let mut defined = DEFINED.to_vec();
    defined.push("ConfigValueWriteResponse");
    let both = schema(
        vec![request(
            "config/value/write",
            reference("ConfigValueWriteParams"),
        )],
        vec![],
        vec![],
        &defined,
    );
    assert_eq!(
        build("1.2.3", &both, &both),
        Err(
            "method `config/value/write`: the schema now defines `ConfigValueWriteResponse`, but \
             its entry in RESPONSE_OVERRIDES (xtask/src/schema/manifest.rs) says \
             `ConfigWriteResponse`; check the new type against a live answer and remove the entry"
                .to_owned()
        )
    );
    check_error(
        vec![request("thread/odd", reference("ThreadStartResponse"))],
        &format!(
            "method `thread/odd`: params type `ThreadStartResponse` does not end in `Params`, so its \
             response type cannot be derived; {fix}"
        ),
    );
}

#[test]
fn inconsistent_unions_fail() {
    let experimental = schema(vec![], vec![], vec![], DEFINED);
    let stable = schema(
        vec![request("thread/start", reference("ThreadStartParams"))],
        vec![],
        vec![],
        DEFINED,
    );
    assert_eq!(
        build("1.2.3", &stable, &experimental),
        Err("ClientRequest: method `thread/start` is in the stable schema but not in the experimental one".to_owned())
    );
    let twice = schema(
        vec![
            request("thread/start", reference("ThreadStartParams")),
            request("thread/start", reference("ThreadStartParams")),
        ],
        vec![],
        vec![],
        DEFINED,
    );
    assert_eq!(
        build("1.2.3", &twice, &twice),
        Err("ClientRequest: method `thread/start` appears twice".to_owned())
    );
    let odd = schema(
        vec![request("thread/start", json!({"type": "string"}))],
        vec![],
        vec![],
        DEFINED,
    );
    assert_eq!(
        build("1.2.3", &odd, &odd),
        Err(
            "stable schema: ClientRequest variant #0: method `thread/start`: params schema not \
             understood (required: false): {\"type\":\"string\"}"
                .to_owned()
        )
    );
}

#[test]
fn renders_one_method_per_line() {
    let manifest = Manifest {
        version: "1.2.3".to_owned(),
        client_requests: vec![
            entry(
                "account/logout",
                None,
                Presence::Absent,
                Some("LogoutAccountResponse"),
                false,
            ),
            entry(
                "thread/start",
                Some("ThreadStartParams"),
                Presence::Required,
                Some("ThreadStartResponse"),
                true,
            ),
        ],
        client_notifications: vec![entry("initialized", None, Presence::Absent, None, false)],
        server_notifications: vec![],
        server_requests: vec![],
    };
    let text = render(&manifest);
    assert_eq!(
        text,
        r#"{
  "version": "1.2.3",
  "clientRequests": [
    {"method": "account/logout", "params": null, "paramsPresence": "none", "response": "LogoutAccountResponse", "experimental": false},
    {"method": "thread/start", "params": "ThreadStartParams", "paramsPresence": "required", "response": "ThreadStartResponse", "experimental": true}
  ],
  "clientNotifications": [
    {"method": "initialized", "params": null, "paramsPresence": "none", "experimental": false}
  ],
  "serverNotifications": [],
  "serverRequests": []
}
"#
    );
    let parsed: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        parsed,
        json!({
            "version": "1.2.3",
            "clientRequests": [
                {"method": "account/logout", "params": null, "paramsPresence": "none",
                 "response": "LogoutAccountResponse", "experimental": false},
                {"method": "thread/start", "params": "ThreadStartParams", "paramsPresence": "required",
                 "response": "ThreadStartResponse", "experimental": true},
            ],
            "clientNotifications": [
                {"method": "initialized", "params": null, "paramsPresence": "none", "experimental": false},
            ],
            "serverNotifications": [],
            "serverRequests": [],
        })
    );
}
