//! The vendored schemas as test data: loading them, sampling a
//! representative value for any definition, and validating values.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{Map, Value, json};

/// The version the types follow.
pub(crate) const PINNED: &str = codexrt_protocol::PINNED_VERSION;

/// Every other known version, whose traffic the pinned types must read.
pub(crate) fn older() -> impl Iterator<Item = &'static str> {
    codexrt_protocol::KNOWN_VERSIONS
        .iter()
        .copied()
        .filter(|version| *version != PINNED)
}

fn read(version: &str, file: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("schema")
        .join(version)
        .join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

/// The flat `definitions` of one version and flavour (`stable`, `experimental`).
pub(crate) fn definitions(version: &str, flavour: &str) -> Map<String, Value> {
    match read(version, &format!("{flavour}.json")) {
        Value::Object(mut root) => match root.remove("definitions") {
            Some(Value::Object(defs)) => defs,
            _ => panic!("{version}/{flavour}.json has no definitions"),
        },
        _ => panic!("{version}/{flavour}.json is not an object"),
    }
}

/// One method of a manifest.
pub(crate) struct ManifestMethod {
    pub(crate) method: String,
    pub(crate) params: Option<String>,
    pub(crate) response: Option<String>,
    pub(crate) experimental: bool,
}

/// The methods of one kind (`clientRequests`, `serverNotifications`, …).
pub(crate) fn manifest(version: &str, kind: &str) -> Vec<ManifestMethod> {
    let manifest = read(version, "manifest.json");
    manifest[kind]
        .as_array()
        .unwrap_or_else(|| panic!("{version} manifest has no {kind}"))
        .iter()
        .map(|m| ManifestMethod {
            method: m["method"].as_str().unwrap().to_owned(),
            params: m["params"].as_str().map(str::to_owned),
            response: m["response"].as_str().map(str::to_owned),
            experimental: m["experimental"].as_bool().unwrap(),
        })
        .collect()
}

/// `{"type": ["string", "object"]}`: a member that stands for "anything
/// else" (`CodexErrorInfo`); its samples would be unknown by definition.
fn is_catch_all(member: &Value) -> bool {
    member["type"].as_array().is_some_and(|t| {
        t.len() == 2 && t.contains(&json!("string")) && t.contains(&json!("object"))
    })
}

/// The definitions a version's methods use: every params and response type
/// of its manifest and everything they reference.
pub(crate) fn protocol_surface(version: &str, defs: &Map<String, Value>) -> Vec<String> {
    fn refs(node: &Value, out: &mut Vec<String>) {
        match node {
            Value::Object(map) => {
                for (key, value) in map {
                    match (key.as_str(), value.as_str()) {
                        ("$ref", Some(r)) => {
                            out.push(r.trim_start_matches("#/definitions/").to_owned())
                        }
                        _ => refs(value, out),
                    }
                }
            }
            Value::Array(values) => values.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut stack: Vec<String> = [
        "clientRequests",
        "clientNotifications",
        "serverNotifications",
        "serverRequests",
    ]
    .iter()
    .flat_map(|kind| manifest(version, kind))
    .flat_map(|m| m.params.into_iter().chain(m.response))
    .collect();
    let mut seen = std::collections::BTreeSet::new();
    while let Some(name) = stack.pop() {
        if seen.insert(name.clone()) {
            refs(&defs[name.as_str()], &mut stack);
        }
    }
    seen.into_iter().collect()
}

fn members(schema: &Value) -> Option<&Vec<Value>> {
    schema["oneOf"].as_array().or(schema["anyOf"].as_array())
}

/// Builds representative values from a schema: every property present,
/// the first choice of every union and enum below the top, one element per
/// array, one entry per map, `1` for integers (valid for every format).
pub(crate) struct Sampler<'a> {
    defs: &'a Map<String, Value>,
    /// Also put an unknown member into every struct-like object.
    extra_members: bool,
}

impl<'a> Sampler<'a> {
    pub(crate) fn new(defs: &'a Map<String, Value>) -> Self {
        Sampler {
            defs,
            extra_members: false,
        }
    }

    /// A sampler that adds `zzUnknownMember` to every object a struct reads.
    pub(crate) fn with_extra_members(defs: &'a Map<String, Value>) -> Self {
        Sampler {
            defs,
            extra_members: true,
        }
    }

    /// One value per variant of definition `name` (per value for enums), or
    /// one value for other definitions.
    pub(crate) fn samples(&self, name: &str) -> Vec<Value> {
        self.variants(&self.defs[name])
    }

    pub(crate) fn sample(&self, schema: &Value) -> Value {
        self.variants(schema)
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("nothing to sample in {schema}"))
    }

    fn variants(&self, schema: &Value) -> Vec<Value> {
        let Some(object) = schema.as_object() else {
            return vec![json!({"any": true})];
        };
        if let Some(reference) = schema["$ref"].as_str() {
            let name = reference.trim_start_matches("#/definitions/");
            return vec![self.sample(&self.defs[name])];
        }
        if let Some(all) = schema["allOf"].as_array() {
            return vec![self.sample(&all[0])];
        }
        if let Some(values) = schema["enum"].as_array() {
            return values.clone();
        }
        if let Some(members) = members(schema) {
            // A struct with common members and a `oneOf` of variants: each
            // variant merged with the common members.
            let common = schema.get("properties").map(|_| self.object(schema));
            return members
                .iter()
                .filter(|m| m["type"] != "null" && !is_catch_all(m))
                .flat_map(|m| self.variants(m))
                .map(|v| match (&common, v) {
                    (Some(Value::Object(common)), Value::Object(mut v)) => {
                        v.extend(common.clone());
                        Value::Object(v)
                    }
                    (_, v) => v,
                })
                .collect();
        }
        if !["type", "properties", "items", "additionalProperties"]
            .iter()
            .any(|k| object.contains_key(*k))
        {
            return vec![json!({"any": true})];
        }
        let ty = match &schema["type"] {
            Value::Array(types) => types.iter().find(|t| *t != "null").cloned(),
            other => Some(other.clone()),
        };
        match ty.as_ref().and_then(Value::as_str) {
            Some("string") => vec![json!("s")],
            Some("integer") => vec![json!(1)],
            Some("number") => vec![json!(1.5)],
            Some("boolean") => vec![json!(true)],
            Some("array") => vec![json!([self.sample(&schema["items"])])],
            Some("object") => self.objects(schema),
            other => panic!("cannot sample type {other:?} in {schema}"),
        }
    }

    /// An object schema: all properties, times each flattened `anyOf` part.
    fn objects(&self, schema: &Value) -> Vec<Value> {
        if schema.get("properties").is_none() {
            return match &schema["additionalProperties"] {
                Value::Object(_) => {
                    vec![json!({"key": self.sample(&schema["additionalProperties"])})]
                }
                _ => vec![json!({})],
            };
        }
        let external = schema["additionalProperties"] == false
            && schema["properties"]
                .as_object()
                .is_some_and(|p| p.len() == 1);
        match schema["anyOf"].as_array() {
            Some(parts) => parts
                .iter()
                .map(|part| {
                    let mut base = self.object(schema);
                    if let (Value::Object(base), Value::Object(part)) =
                        (&mut base, self.object(part))
                    {
                        base.extend(part);
                    }
                    base
                })
                .collect(),
            None if external => vec![self.object_with(schema, false)],
            None => vec![self.object(schema)],
        }
    }

    fn object(&self, schema: &Value) -> Value {
        self.object_with(schema, self.extra_members)
    }

    fn object_with(&self, schema: &Value, extra: bool) -> Value {
        let mut out = Map::new();
        for (key, prop) in schema["properties"].as_object().into_iter().flatten() {
            out.insert(key.clone(), self.sample(prop));
        }
        if schema["additionalProperties"] == true {
            out.insert("extraMember".to_owned(), json!("kept"));
        }
        if extra {
            out.insert("zzUnknownMember".to_owned(), json!({"nested": [1]}));
        }
        Value::Object(out)
    }
}

/// Validates values against the definitions of one schema. One validator
/// is compiled for all definitions: the root maps each definition name to a
/// `$ref`, and a value is checked as `{name: value}`.
pub(crate) struct Validator {
    inner: jsonschema::Validator,
}

impl Validator {
    pub(crate) fn new(defs: &Map<String, Value>) -> Self {
        let properties: BTreeMap<&String, Value> = defs
            .keys()
            .map(|name| (name, json!({"$ref": format!("#/definitions/{name}")})))
            .collect();
        let root = json!({"definitions": defs, "properties": properties});
        Validator {
            inner: jsonschema::draft7::new(&root).expect("the vendored schema compiles"),
        }
    }

    /// `Err` lists every violation with its path.
    pub(crate) fn check(&self, name: &str, value: &Value) -> Result<(), String> {
        let instance = json!({ name: value });
        let errors: Vec<String> = self
            .inner
            .iter_errors(&instance)
            .map(|err| format!("{} at {}", err, err.instance_path()))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }
}
