//! The manifest of one codex version: every method of the four protocol
//! unions with its params type, whether params may be sent, its response type
//! and whether only the experimental API has it. It is what the per-version
//! capability map and the method tables are generated from.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

#[cfg(test)]
mod tests;

/// Responses that the `XParams` → `XResponse` convention cannot find. The
/// schema links no method to its response (upstream declares the pairs in a
/// Rust macro whose output is not exported), so each entry was checked
/// against upstream's declarations and, for 0.169.0, against live answers.
pub(crate) const RESPONSE_OVERRIDES: &[(&str, &str)] = &[
    // Both write config and share one response type; `ConfigValueWriteResponse`
    // and `ConfigBatchWriteResponse` do not exist.
    ("config/value/write", "ConfigWriteResponse"),
    ("config/batchWrite", "ConfigWriteResponse"),
    // The params type `AccountSessionsListParams` has no `…ListResponse` twin.
    ("accountSession/list", "AccountSessionsResponse"),
    // No params at all, so there is no name to derive from.
    ("account/gatewayOAuth/cancel", "GatewayOAuthCancelResponse"),
    ("account/logout", "LogoutAccountResponse"),
    (
        "account/securitySetup/read",
        "GetAccountSecuritySetupResponse",
    ),
    (
        "account/workspaceMessages/read",
        "GetWorkspaceMessagesResponse",
    ),
    ("config/mcpServer/reload", "McpServerRefreshResponse"),
    ("configRequirements/read", "ConfigRequirementsReadResponse"),
    (
        "externalAgentConfig/import/readHistories",
        "ExternalAgentConfigImportHistoriesReadResponse",
    ),
    (
        "windowsSandbox/readiness",
        "WindowsSandboxReadinessResponse",
    ),
    // No params, experimental API only.
    ("memory/reset", "MemoryResetResponse"),
    (
        "remoteControl/status/read",
        "RemoteControlStatusReadResponse",
    ),
    ("rollout/compress", "RolloutCompressResponse"),
    // Optional params in 0.169.0 (where the convention works) but no params in
    // older versions: `account/rateLimits/read` in 0.150.0, the two
    // gateway OAuth methods in 0.160.1.
    ("account/gatewayOAuth/login", "GatewayOAuthLoginResponse"),
    ("account/gatewayOAuth/read", "GatewayOAuthReadResponse"),
    ("account/rateLimits/read", "GetAccountRateLimitsResponse"),
    // 0.171.0's schema defines no response for it at all. A live call
    // (`{"providerId": "openai"}` against codex 0.171.0) answered
    // `{"status", "version", "filePath", "overriddenMetadata"}`: it writes
    // config.toml like `config/value/write` and answers the same way. Should
    // a later schema define `ModelProviderDefaultSetResponse`, the entry
    // conflicts with it and `cargo xtask schema` fails until it is removed.
    ("modelProvider/default/set", "ConfigWriteResponse"),
];

/// The protocol surface of one codex version.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Manifest {
    pub(super) version: String,
    pub(super) client_requests: Vec<Method>,
    pub(super) client_notifications: Vec<Method>,
    pub(super) server_notifications: Vec<Method>,
    pub(super) server_requests: Vec<Method>,
}

/// One variant of a protocol union.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Method {
    /// The wire name, e.g. `thread/start`.
    pub(super) method: String,
    /// The definition name of the params, `None` when there are none.
    pub(super) params: Option<String>,
    pub(super) presence: Presence,
    /// The definition name of the response; `None` for notifications.
    pub(super) response: Option<String>,
    /// The method is absent from the stable schema's union.
    pub(super) experimental: bool,
}

/// How a method carries params on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Presence {
    /// `params` must be sent (`"params": {"$ref": …}`, listed in `required`).
    Required,
    /// `params` may be omitted or null (`anyOf: [{"$ref": …}, {"type": "null"}]`).
    Optional,
    /// The method takes no params (`{"type": "null"}` or no `params` property).
    Absent,
}

impl Presence {
    fn as_str(self) -> &'static str {
        match self {
            Self::Required => "required",
            Self::Optional => "optional",
            Self::Absent => "none",
        }
    }
}

/// Builds the manifest from the normalized stable and experimental schemas
/// of one version. Methods come from the experimental schema (a superset);
/// the stable one only decides the `experimental` flag.
///
/// # Errors
/// When a union or variant has an unexpected shape, a stable method is
/// missing from the experimental schema, a method appears twice, or a request
/// has no resolvable response definition (the message names the method).
pub(super) fn build(
    version: &str,
    stable: &Value,
    experimental: &Value,
) -> Result<Manifest, String> {
    let side = |union: &str, requests: bool| union_methods(stable, experimental, union, requests);
    Ok(Manifest {
        version: version.to_owned(),
        client_requests: side("ClientRequest", true)?,
        client_notifications: side("ClientNotification", false)?,
        server_notifications: side("ServerNotification", false)?,
        server_requests: side("ServerRequest", true)?,
    })
}

fn union_methods(
    stable: &Value,
    experimental: &Value,
    union: &str,
    requests: bool,
) -> Result<Vec<Method>, String> {
    let stable_methods: BTreeSet<String> = variants(stable, union)
        .map_err(|err| format!("stable schema: {err}"))?
        .into_iter()
        .map(|v| v.method)
        .collect();
    let definitions = definitions(experimental)?;
    let mut methods = Vec::new();
    let mut seen = BTreeSet::new();
    for variant in
        variants(experimental, union).map_err(|err| format!("experimental schema: {err}"))?
    {
        if !seen.insert(variant.method.clone()) {
            return Err(format!(
                "{union}: method `{}` appears twice",
                variant.method
            ));
        }
        let response = if requests {
            Some(response_for(
                &variant.method,
                variant.params.as_deref(),
                definitions,
            )?)
        } else {
            None
        };
        methods.push(Method {
            experimental: !stable_methods.contains(&variant.method),
            method: variant.method,
            params: variant.params,
            presence: variant.presence,
            response,
        });
    }
    if let Some(missing) = stable_methods.difference(&seen).next() {
        return Err(format!(
            "{union}: method `{missing}` is in the stable schema but not in the experimental one"
        ));
    }
    methods.sort_by(|a, b| a.method.cmp(&b.method));
    Ok(methods)
}

struct Variant {
    method: String,
    params: Option<String>,
    presence: Presence,
}

fn definitions(schema: &Value) -> Result<&Map<String, Value>, String> {
    schema
        .get("definitions")
        .and_then(Value::as_object)
        .ok_or_else(|| "the schema has no `definitions` object".to_owned())
}

fn variants(schema: &Value, union: &str) -> Result<Vec<Variant>, String> {
    let one_of = definitions(schema)?
        .get(union)
        .and_then(|union| union.get("oneOf"))
        .and_then(Value::as_array)
        .ok_or_else(|| format!("definition `{union}` is missing or has no `oneOf` array"))?;
    one_of
        .iter()
        .enumerate()
        .map(|(i, variant)| {
            parse_variant(variant).map_err(|err| format!("{union} variant #{i}: {err}"))
        })
        .collect()
}

fn parse_variant(variant: &Value) -> Result<Variant, String> {
    let method = match variant
        .pointer("/properties/method/enum")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
    {
        Some([Value::String(method)]) => method.clone(),
        _ => return Err("`properties.method.enum` is not a single string".to_owned()),
    };
    let required = variant
        .get("required")
        .and_then(Value::as_array)
        .is_some_and(|required| required.iter().any(|name| name == "params"));
    let params = variant.pointer("/properties/params");
    let (params, presence) = classify_params(params, required).ok_or_else(|| {
        format!(
            "method `{method}`: params schema not understood (required: {required}): {}",
            params.unwrap_or(&Value::Null)
        )
    })?;
    Ok(Variant {
        method,
        params,
        presence,
    })
}

/// The params type and presence of a variant, or `None` for a shape this
/// walker does not know (then the manifest cannot say how to call it).
fn classify_params(params: Option<&Value>, required: bool) -> Option<(Option<String>, Presence)> {
    let Some(params) = params else {
        return Some((None, Presence::Absent));
    };
    if is_null_schema(params) {
        return Some((None, Presence::Absent));
    }
    if let Some(name) = ref_name(params) {
        return required.then_some((Some(name), Presence::Required));
    }
    match params.get("anyOf")?.as_array()?.as_slice() {
        [a, b] if !required => {
            let name = match (ref_name(a), ref_name(b)) {
                (Some(name), None) if is_null_schema(b) => name,
                (None, Some(name)) if is_null_schema(a) => name,
                _ => return None,
            };
            Some((Some(name), Presence::Optional))
        }
        _ => None,
    }
}

/// The definition name of a bare `{"$ref": "#/definitions/X"}`.
fn ref_name(schema: &Value) -> Option<String> {
    let object = schema.as_object()?;
    if object.len() != 1 {
        return None;
    }
    object
        .get("$ref")?
        .as_str()?
        .strip_prefix("#/definitions/")
        .map(str::to_owned)
}

fn is_null_schema(schema: &Value) -> bool {
    schema.as_object().is_some_and(|object| {
        object.len() == 1 && object.get("type").and_then(Value::as_str) == Some("null")
    })
}

/// The override table first, else `XParams` → `XResponse`; either way the
/// definition must exist, because a response type the SDK cannot name would
/// leave the method uncallable in typed form. An override that names another
/// type than the one the convention finds defined is an error: the schema
/// has caught up, and the override must be checked and removed.
fn response_for(
    method: &str,
    params: Option<&str>,
    definitions: &Map<String, Value>,
) -> Result<String, String> {
    let fix = "add or fix its entry in RESPONSE_OVERRIDES (xtask/src/schema/manifest.rs)";
    let conventional = params
        .and_then(|params| params.strip_suffix("Params"))
        .map(|stem| format!("{stem}Response"));
    let response = match (
        RESPONSE_OVERRIDES.iter().find(|(m, _)| *m == method),
        params,
    ) {
        (Some((_, response)), _) => {
            if let Some(conventional) = conventional
                .as_ref()
                .filter(|name| *name != response && definitions.contains_key(*name))
            {
                return Err(format!(
                    "method `{method}`: the schema now defines `{conventional}`, but its entry in \
                     RESPONSE_OVERRIDES (xtask/src/schema/manifest.rs) says `{response}`; check \
                     the new type against a live answer and remove the entry"
                ));
            }
            (*response).to_owned()
        }
        (None, Some(params)) => match conventional {
            Some(conventional) => conventional,
            None => {
                return Err(format!(
                    "method `{method}`: params type `{params}` does not end in `Params`, so its \
                     response type cannot be derived; {fix}"
                ));
            }
        },
        (None, None) => {
            return Err(format!(
                "method `{method}` has no params, so its response type cannot be derived; {fix}"
            ));
        }
    };
    if definitions.contains_key(&response) {
        Ok(response)
    } else {
        Err(format!(
            "method `{method}`: response type `{response}` is not defined in the schema; {fix}"
        ))
    }
}

/// Writes the manifest as JSON with one method per line, keys in a fixed
/// reading order, so a change to one method is a one-line diff.
pub(super) fn render(manifest: &Manifest) -> String {
    let sections = [
        ("clientRequests", &manifest.client_requests),
        ("clientNotifications", &manifest.client_notifications),
        ("serverNotifications", &manifest.server_notifications),
        ("serverRequests", &manifest.server_requests),
    ];
    let mut out = format!(
        "{{\n  \"version\": {}",
        Value::from(manifest.version.as_str())
    );
    for (key, methods) in sections {
        out.push_str(&format!(",\n  \"{key}\": ["));
        let lines: Vec<String> = methods
            .iter()
            .map(|method| format!("    {}", render_method(method)))
            .collect();
        if !lines.is_empty() {
            out.push('\n');
            out.push_str(&lines.join(",\n"));
            out.push_str("\n  ");
        }
        out.push(']');
    }
    out.push_str("\n}\n");
    out
}

fn render_method(method: &Method) -> String {
    let params = method.params.as_deref().map_or(Value::Null, Value::from);
    let response = match &method.response {
        Some(response) => format!(", \"response\": {}", Value::from(response.as_str())),
        None => String::new(),
    };
    format!(
        "{{\"method\": {}, \"params\": {params}, \"paramsPresence\": \"{}\"{response}, \"experimental\": {}}}",
        Value::from(method.method.as_str()),
        method.presence.as_str(),
        method.experimental
    )
}
