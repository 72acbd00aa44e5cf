//! The generator's input: the vendored schemas and manifests of every
//! supported codex version, read from `crates/codexrt-protocol/schema/`.

use std::fs;
use std::path::Path;

use serde_json::{Map, Value};

/// A flat `definitions` map, as vendored by `cargo xtask schema`.
pub(crate) type Definitions = Map<String, Value>;

/// Everything vendored for one codex version.
pub(crate) struct VersionInput {
    pub(crate) version: String,
    pub(crate) stable: Definitions,
    pub(crate) experimental: Definitions,
    pub(crate) manifest: Manifest,
}

/// The four method lists of one version, each sorted by method.
pub(crate) struct Manifest {
    pub(crate) client_requests: Vec<Method>,
    pub(crate) client_notifications: Vec<Method>,
    pub(crate) server_notifications: Vec<Method>,
    pub(crate) server_requests: Vec<Method>,
}

/// One method of a manifest.
#[derive(Clone)]
pub(crate) struct Method {
    pub(crate) method: String,
    pub(crate) params: Option<String>,
    pub(crate) presence: Presence,
    pub(crate) response: Option<String>,
    pub(crate) experimental: bool,
}

/// Whether a method's params must, may or cannot be sent.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Presence {
    Required,
    Optional,
    None,
}

/// The four protocol unions, in the order the report and the tables use.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub(crate) enum Kind {
    ClientRequest,
    ClientNotification,
    ServerNotification,
    ServerRequest,
}

impl Kind {
    pub(crate) const ALL: [Kind; 4] = [
        Kind::ClientRequest,
        Kind::ClientNotification,
        Kind::ServerNotification,
        Kind::ServerRequest,
    ];

    /// Lower-case plural, as printed by the report.
    pub(crate) fn plural(self) -> &'static str {
        match self {
            Kind::ClientRequest => "client requests",
            Kind::ClientNotification => "client notifications",
            Kind::ServerNotification => "server notifications",
            Kind::ServerRequest => "server requests",
        }
    }

    /// The variant name of `MethodKind` in the protocol crate.
    pub(crate) fn rust_variant(self) -> &'static str {
        match self {
            Kind::ClientRequest => "ClientRequest",
            Kind::ClientNotification => "ClientNotification",
            Kind::ServerNotification => "ServerNotification",
            Kind::ServerRequest => "ServerRequest",
        }
    }
}

impl Manifest {
    pub(crate) fn methods(&self, kind: Kind) -> &[Method] {
        match kind {
            Kind::ClientRequest => &self.client_requests,
            Kind::ClientNotification => &self.client_notifications,
            Kind::ServerNotification => &self.server_notifications,
            Kind::ServerRequest => &self.server_requests,
        }
    }
}

/// Reads the vendored files of `versions` (oldest first) under `schema_dir`.
pub(crate) fn load(schema_dir: &Path, versions: &[&str]) -> Result<Vec<VersionInput>, String> {
    versions
        .iter()
        .map(|version| {
            let dir = schema_dir.join(version);
            let read = |file: &str| -> Result<Value, String> {
                let path = dir.join(file);
                let text = fs::read_to_string(&path).map_err(|err| {
                    format!(
                        "cannot read {}: {err} (run `cargo xtask schema` first)",
                        path.display()
                    )
                })?;
                serde_json::from_str(&text)
                    .map_err(|err| format!("{} is not valid JSON: {err}", path.display()))
            };
            let definitions = |file: &str| -> Result<Definitions, String> {
                match read(file)? {
                    Value::Object(mut root) => match root.remove("definitions") {
                        Some(Value::Object(defs)) => Ok(defs),
                        _ => Err(format!("{version}/{file} has no `definitions` object")),
                    },
                    _ => Err(format!("{version}/{file} is not a JSON object")),
                }
            };
            let manifest = parse_manifest(&read("manifest.json")?)
                .map_err(|err| format!("{version}/manifest.json: {err}"))?;
            Ok(VersionInput {
                version: (*version).to_owned(),
                stable: definitions("stable.json")?,
                experimental: definitions("experimental.json")?,
                manifest,
            })
        })
        .collect()
}

pub(crate) fn parse_manifest(value: &Value) -> Result<Manifest, String> {
    let list = |key: &str, has_response: bool| -> Result<Vec<Method>, String> {
        let entries = value[key]
            .as_array()
            .ok_or_else(|| format!("`{key}` is not an array"))?;
        entries
            .iter()
            .map(|entry| parse_method(entry, has_response).map_err(|err| format!("{key}: {err}")))
            .collect()
    };
    Ok(Manifest {
        client_requests: list("clientRequests", true)?,
        client_notifications: list("clientNotifications", false)?,
        server_notifications: list("serverNotifications", false)?,
        server_requests: list("serverRequests", true)?,
    })
}

fn parse_method(entry: &Value, has_response: bool) -> Result<Method, String> {
    let method = entry["method"]
        .as_str()
        .ok_or("an entry has no `method` string")?
        .to_owned();
    let presence = match entry["paramsPresence"].as_str() {
        Some("required") => Presence::Required,
        Some("optional") => Presence::Optional,
        Some("none") => Presence::None,
        other => return Err(format!("`{method}` has paramsPresence {other:?}")),
    };
    let params = entry["params"].as_str().map(str::to_owned);
    if params.is_none() != (presence == Presence::None) {
        return Err(format!("`{method}`: params and paramsPresence disagree"));
    }
    let response = entry["response"].as_str().map(str::to_owned);
    if has_response && response.is_none() {
        return Err(format!("`{method}` has no response type"));
    }
    let experimental = entry["experimental"]
        .as_bool()
        .ok_or_else(|| format!("`{method}` has no boolean `experimental`"))?;
    Ok(Method {
        method,
        params,
        presence,
        response,
        experimental,
    })
}
