//! From schema definitions to the items to emit: which definitions, which
//! Rust shape each takes, which fields are optional (the backward
//! compatibility rule), names, notes and docs.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::classify::{
    Class, classify, enum_values, excerpt, external_key, find_tag, is_null, is_string_enum,
    members, single_value,
};
use super::finish::{compute_defaults, mark_lenient, write_docs};
use super::history::{History, Loc, Step, requires};
use super::input::{Definitions, Kind};
use super::model::{EnumValue, Field, Item, Notes, Payload, Presence, Relaxed, Shape, Ty, Variant};
use super::naming::{field_name, pascal, type_words};
use super::reach::{closure, nested_untagged, ref_name, strict_enums};

/// What a definition is to the protocol: the params or response of a method.
#[derive(Clone, Debug)]
pub(crate) enum Role {
    Params { kind: Kind, method: String },
    Response { kind: Kind, method: String },
}

/// The generator's view of the pinned protocol.
pub(crate) struct Lowered {
    pub(crate) items: BTreeMap<String, Item>,
    /// Params types made up, by kind and method: for methods without
    /// params, and for a method whose params type an earlier method of its
    /// kind already has (the request traits need one method per type).
    pub(crate) unit_params: BTreeMap<(Kind, String), String>,
}

/// Names the generated module imports or the prelude has: a definition
/// called like this would shadow them.
const RESERVED: &[&str] = &[
    "BTreeMap",
    "Box",
    "Deserialize",
    "Map",
    "Option",
    "Result",
    "Serialize",
    "String",
    "Value",
    "Vec",
];

pub(crate) fn lower(history: &History<'_>) -> Result<Lowered, String> {
    let pinned = history.pinned;
    let defs = &pinned.experimental;
    let mut roles: BTreeMap<String, Vec<Role>> = BTreeMap::new();
    let mut unit_params = BTreeMap::new();
    // Methods whose params type an earlier method of the kind has: their
    // own copy's name, and the shared type's.
    let mut copied_params: Vec<(Kind, String, String, String)> = Vec::new();
    for kind in Kind::ALL {
        let mut taken = BTreeSet::new();
        for m in pinned.manifest.methods(kind) {
            let method = m.method.clone();
            match &m.params {
                Some(params) if !taken.insert(params.clone()) => {
                    let own = format!("{}Params", pascal(&method));
                    unit_params.insert((kind, method.clone()), own.clone());
                    copied_params.push((kind, method.clone(), own, params.clone()));
                }
                Some(params) => roles.entry(params.clone()).or_default().push(Role::Params {
                    kind,
                    method: method.clone(),
                }),
                None => {
                    let suffix = match kind {
                        Kind::ClientNotification | Kind::ServerNotification => "Notification",
                        Kind::ClientRequest | Kind::ServerRequest => "Params",
                    };
                    unit_params.insert(
                        (kind, method.clone()),
                        format!("{}{suffix}", pascal(&method)),
                    );
                }
            }
            if let Some(response) = &m.response {
                roles
                    .entry(response.clone())
                    .or_default()
                    .push(Role::Response { kind, method });
            }
        }
    }
    let reachable = closure(defs, roles.keys())?;
    let strict = strict_enums(defs, &reachable)?;
    let nested = nested_untagged(defs, &reachable)?;
    let mut lowerer = Lowerer {
        history,
        defs,
        roles: &roles,
        strict: &strict,
        nested: &nested,
        items: BTreeMap::new(),
    };
    for name in &reachable {
        lowerer
            .lower_def(name)
            .map_err(|err| format!("definition `{name}`: {err}"))?;
    }
    let mut items = lowerer.items;
    for (kind, method, own, shared) in &copied_params {
        if defs.contains_key(own) {
            return Err(format!(
                "the params type `{own}` made up for `{method}`, which shares `{shared}`, \
                 collides with a definition"
            ));
        }
        let mut item = items
            .get(shared)
            .cloned()
            .ok_or_else(|| format!("`{method}` shares `{shared}`, which was not generated"))?;
        item.name.clone_from(own);
        item.doc.push(format!(
            "The members of [`{shared}`], which `{method}` takes as well: a type of its own, \
             because a params type names one method."
        ));
        insert(&mut items, item)?;
        roles.entry(own.clone()).or_default().push(Role::Params {
            kind: *kind,
            method: method.clone(),
        });
    }
    for ((kind, method), name) in &unit_params {
        if copied_params.iter().any(|(_, _, own, _)| own == name) {
            continue;
        }
        if defs.contains_key(name) {
            return Err(format!(
                "the made-up params type `{name}` of `{method}` collides with a definition"
            ));
        }
        let experimental = pinned
            .manifest
            .methods(*kind)
            .iter()
            .any(|m| m.method == *method && m.experimental);
        let item = Item {
            name: name.clone(),
            def: name.clone(),
            shape: Shape::UnitStruct,
            doc: vec![
                "The method takes no params: this serializes as `null`, which the rpc layer \
                 leaves out."
                    .to_owned(),
            ],
            notes: Notes {
                experimental,
                since: None,
            },
            default: true,
        };
        insert(&mut items, item)?;
        roles.entry(name.clone()).or_default().push(Role::Params {
            kind: *kind,
            method: method.clone(),
        });
    }
    for name in items.keys() {
        if RESERVED.contains(&name.as_str()) {
            return Err(format!(
                "a generated type would be called `{name}`, which shadows a Rust or serde name"
            ));
        }
    }
    compute_defaults(&mut items);
    mark_lenient(&mut items);
    write_docs(&mut items, &roles);
    Ok(Lowered { items, unit_params })
}

fn insert(items: &mut BTreeMap<String, Item>, item: Item) -> Result<(), String> {
    if items.contains_key(&item.name) {
        return Err(format!("two generated items are called `{}`", item.name));
    }
    items.insert(item.name.clone(), item);
    Ok(())
}

struct Lowerer<'a> {
    history: &'a History<'a>,
    defs: &'a Definitions,
    roles: &'a BTreeMap<String, Vec<Role>>,
    strict: &'a BTreeMap<String, String>,
    nested: &'a BTreeMap<String, String>,
    items: BTreeMap<String, Item>,
}

impl<'a> Lowerer<'a> {
    fn def(&self, name: &str) -> Result<&'a Value, String> {
        self.defs
            .get(name)
            .ok_or_else(|| format!("`{name}` is referenced but not defined"))
    }

    fn push(&mut self, item: Item) -> Result<(), String> {
        if self.defs.contains_key(&item.name) && item.name != item.def {
            return Err(format!(
                "the inline type name `{}` collides with a definition",
                item.name
            ));
        }
        insert(&mut self.items, item)
    }

    fn lower_def(&mut self, name: &str) -> Result<(), String> {
        let schema = self.def(name)?;
        let loc = Loc::root(name);
        let notes = Notes {
            experimental: self.history.experimental_object(&loc),
            since: self.history.introduced(&loc, None).map(str::to_owned),
        };
        let has_role = self.roles.contains_key(name);
        let item = |shape: Shape, doc: Vec<String>| Item {
            name: name.to_owned(),
            def: name.to_owned(),
            shape,
            doc,
            notes: notes.clone(),
            default: false,
        };
        match classify(schema)? {
            Class::StringEnum => {
                let values = enum_values(schema)
                    .into_iter()
                    .map(|wire| EnumValue {
                        rust: variant_name(wire),
                        wire: wire.to_owned(),
                        notes: Notes {
                            experimental: !notes.experimental
                                && self.history.experimental_value(name, wire),
                            since: newer(
                                self.history.value_introduced(name, wire),
                                notes.since.as_deref(),
                            ),
                        },
                    })
                    .collect::<Vec<_>>();
                unique(values.iter().map(|v| v.rust.as_str()))?;
                let strict_for = self.strict.get(name).cloned();
                let doc = match &strict_for {
                    Some(union) => format!(
                        "A string on the wire. Strict: any other value fails to decode, \
                         because this value tells the members of [`{union}`] apart."
                    ),
                    None => "A string on the wire; a value this version does not know decodes \
                             as `Unknown` and is sent back unchanged."
                        .to_owned(),
                };
                self.push(item(Shape::StringEnum { values, strict_for }, vec![doc]))
            }
            Class::Tagged { tag } => {
                let members = non_null(schema);
                let variants = self.tagged_variants(name, &loc, &members, &tag, &notes)?;
                let doc = vec![tagged_doc(&tag)];
                self.push(item(Shape::Tagged { tag, variants }, doc))
            }
            Class::External => {
                let variants = self.external_variants(name, &loc, &non_null(schema), &notes)?;
                let doc = vec![
                    "On the wire a bare string for the variants without data and a one-key \
                     object (`{\"variant\": data}`) for the others; any other value decodes \
                     as `Unknown`."
                        .to_owned(),
                ];
                self.push(item(Shape::External { variants }, doc))
            }
            Class::Untagged => {
                let (variants, unknown) = self.untagged_variants(name, &loc, &non_null(schema))?;
                let doc = match self.nested.get(name) {
                    Some(outer) => vec![
                        untagged_doc(false),
                        format!(
                            "No `Unknown` of its own: as a member of [`{outer}`] it must fail on \
                             values it does not fit, so that the next member gets its turn."
                        ),
                    ],
                    None => vec![untagged_doc(unknown)],
                };
                let unknown = unknown && !self.nested.contains_key(name);
                self.push(item(Shape::Untagged { variants, unknown }, doc))
            }
            Class::Nullable => Err(
                "a nullable wrapper definition is used as a type; only optional params use \
                 them, through the manifest"
                    .to_owned(),
            ),
            Class::Struct => {
                let mut fields = self.fields(schema, &loc, None)?;
                if schema.get("oneOf").is_some() {
                    let members = non_null(schema);
                    let tag = find_tag(&members)
                        .ok_or("properties plus a oneOf whose members share no tag")?;
                    let kind_name = format!("{name}Kind");
                    let variants =
                        self.tagged_variants(&kind_name, &loc, &members, &tag, &notes)?;
                    self.push(Item {
                        name: kind_name.clone(),
                        def: name.to_owned(),
                        shape: Shape::Tagged {
                            tag: tag.clone(),
                            variants,
                        },
                        doc: vec![
                            format!(
                                "The `{tag}`-tagged part of [`{name}`], flattened into it on \
                                 the wire."
                            ),
                            tagged_doc(&tag),
                        ],
                        notes: notes.clone(),
                        default: false,
                    })?;
                    fields.push(synthetic_field(
                        "kind",
                        &kind_name,
                        format!("The members that depend on `{tag}`."),
                    ));
                }
                let extra = schema["additionalProperties"] == true;
                let names = fields.iter().map(|f| f.rust.as_str());
                unique(names.chain(extra.then_some("extra")))?;
                let doc = if extra {
                    vec!["Members this version does not know are kept in `extra`.".to_owned()]
                } else {
                    Vec::new()
                };
                self.push(item(Shape::Struct { fields, extra }, doc))
            }
            Class::BareObject if has_role => self.push(item(
                Shape::EmptyStruct,
                vec![
                    "Carries no data: `{}` on the wire; members a newer server adds are \
                     ignored."
                        .to_owned(),
                ],
            )),
            Class::BareObject => self.push(item(
                Shape::Alias(Ty::JsonMap),
                vec!["Any JSON object, kept as is.".to_owned()],
            )),
            Class::Map if has_role => {
                Err("a map definition is a method's params or response".to_owned())
            }
            Class::Map => {
                let (value, _) = self.prop_ty(&schema["additionalProperties"])?;
                self.push(item(
                    Shape::Alias(Ty::Map(Box::new(value))),
                    vec!["A JSON object used as a map with string keys.".to_owned()],
                ))
            }
            Class::Alias => {
                let (ty, nullable) = self.prop_ty(schema)?;
                if nullable {
                    return Err("a nullable alias".to_owned());
                }
                let doc = match ty {
                    Ty::String => "A string on the wire.",
                    Ty::Vec(_) => "A list on the wire.",
                    _ => "A plain JSON value on the wire.",
                };
                self.push(item(Shape::Alias(ty), vec![doc.to_owned()]))
            }
        }
    }

    /// The Rust type of a property (or array item, or map value) schema and
    /// whether it may be `null`.
    fn prop_ty(&self, schema: &Value) -> Result<(Ty, bool), String> {
        const SHAPE_KEYS: &[&str] = &[
            "type",
            "$ref",
            "allOf",
            "anyOf",
            "oneOf",
            "enum",
            "properties",
            "items",
            "additionalProperties",
        ];
        let Some(object) = schema.as_object() else {
            return match schema {
                Value::Bool(true) => Ok((Ty::Value, false)),
                _ => Err(format!("unsupported schema {}", excerpt(schema))),
            };
        };
        if !SHAPE_KEYS.iter().any(|k| object.contains_key(*k)) {
            return Ok((Ty::Value, false));
        }
        if let Some(reference) = schema["$ref"].as_str() {
            let name = ref_name(reference)?;
            let target = self
                .defs
                .get(name)
                .ok_or_else(|| format!("dangling {reference}"))?;
            if classify(target)? == Class::Nullable {
                let (ty, _) = self.prop_ty(non_null(target)[0])?;
                return Ok((ty, true));
            }
            return Ok((Ty::Named(name.to_owned()), false));
        }
        if let Some(all) = schema["allOf"].as_array() {
            return match all.as_slice() {
                [single] => self.prop_ty(single),
                _ => Err(format!("allOf with {} members", all.len())),
            };
        }
        if let Some(any) = schema["anyOf"].as_array() {
            let rest = non_null(schema);
            return match rest.as_slice() {
                // A nested `anyOf [anyOf [X, null], null]` is `Option<Option<X>>`
                // upstream; one `Option` is enough to read and write it.
                [single] if rest.len() < any.len() => Ok((self.prop_ty(single)?.0, true)),
                _ => Err(format!("inline union in a property: {}", excerpt(schema))),
            };
        }
        // An inline enum of integers is a version marker (`"version": 1`):
        // typed as its integer, so another value still decodes. Any other
        // inline enum needs a named type.
        if let Some(values) = schema.get("enum") {
            let integers = values
                .as_array()
                .is_some_and(|values| values.iter().all(Value::is_i64));
            if !(integers && schema["type"] == "integer") {
                return Err(format!("inline enum in a property: {}", excerpt(schema)));
            }
        }
        let (kind, nullable) = match &schema["type"] {
            Value::String(t) => (t.as_str(), false),
            Value::Array(types) => {
                let named: Vec<&str> = types.iter().filter_map(Value::as_str).collect();
                match named.as_slice() {
                    [t, "null"] | ["null", t] => (*t, true),
                    _ => return Err(format!("unsupported type list {named:?}")),
                }
            }
            _ => return Err(format!("no type in {}", excerpt(schema))),
        };
        let ty = match kind {
            "string" => Ty::String,
            "boolean" => Ty::Bool,
            "number" => Ty::F64,
            "integer" => match schema["format"].as_str() {
                Some("int64") => Ty::I64,
                Some("uint64" | "uint") => Ty::U64,
                Some("uint32") => Ty::U32,
                Some("uint16") => Ty::U16,
                Some("uint8") => Ty::U8,
                Some("int32") => Ty::I32,
                other => return Err(format!("integer with format {other:?}")),
            },
            "array" => {
                let (item, item_nullable) = self.prop_ty(&schema["items"])?;
                if item_nullable {
                    return Err("array of nullable items".to_owned());
                }
                Ty::Vec(Box::new(item))
            }
            "object" if schema.get("properties").is_some() => {
                return Err(format!("inline object in a property: {}", excerpt(schema)));
            }
            "object" => match &schema["additionalProperties"] {
                Value::Object(_) => {
                    let (value, value_nullable) = self.prop_ty(&schema["additionalProperties"])?;
                    Ty::Map(Box::new(if value_nullable {
                        Ty::Option(Box::new(value))
                    } else {
                        value
                    }))
                }
                _ => Ty::JsonMap,
            },
            other => return Err(format!("unsupported type `{other}`")),
        };
        Ok((ty, nullable))
    }

    /// The fields of object schema `object` found at `loc`, minus `skip`
    /// (a union's tag, which serde handles).
    fn fields(&self, object: &Value, loc: &Loc, skip: Option<&str>) -> Result<Vec<Field>, String> {
        let mut fields = Vec::new();
        let Some(props) = object["properties"].as_object() else {
            return Ok(fields);
        };
        let object_since = self.history.introduced(loc, None);
        for (wire, schema) in props {
            if Some(wire.as_str()) == skip {
                continue;
            }
            let (ty, nullable) = self
                .prop_ty(schema)
                .map_err(|err| format!("property `{wire}`: {err}"))?;
            let required = requires(object, wire);
            let (presence, relaxed) = match (required, nullable) {
                (true, false) if self.history.required_everywhere(loc, wire) => {
                    (Presence::Required, Relaxed::No)
                }
                (true, false) => (
                    Presence::Optional,
                    Relaxed::OlderServers(
                        self.history.required_since(loc, wire).map(str::to_owned),
                    ),
                ),
                (true, true) => (Presence::Nullable, Relaxed::No),
                (false, _) => (Presence::Optional, Relaxed::No),
            };
            fields.push(Field {
                rust: field_name(wire),
                wire: wire.clone(),
                ty,
                presence,
                relaxed,
                flatten: false,
                experimental: self.history.experimental_field(loc, wire),
                since: newer(self.history.introduced(loc, Some(wire)), object_since),
                doc: None,
                lenient: false,
            });
        }
        unique(fields.iter().map(|f| f.rust.as_str()))?;
        Ok(fields)
    }

    fn tagged_variants(
        &mut self,
        parent: &str,
        loc: &Loc,
        members: &[&Value],
        tag: &str,
        parent_notes: &Notes,
    ) -> Result<Vec<Variant>, String> {
        let mut variants = Vec::new();
        for member in members {
            let value = single_value(&member["properties"][tag])
                .ok_or_else(|| format!("a member has no single-value `{tag}`"))?;
            let vloc = loc.then(Step::Tagged {
                prop: tag.to_owned(),
                value: value.to_owned(),
            });
            let rust = variant_name(value);
            let notes = self.variant_notes(&vloc, parent_notes);
            let mut fields = self
                .fields(member, &vloc, Some(tag))
                .map_err(|err| format!("variant `{value}`: {err}"))?;
            if let Some(parts) = member["anyOf"].as_array() {
                let source = format!("{}{rust}", loc.def);
                let parts: Vec<&Value> = parts.iter().collect();
                let (alternatives, _) = self.untagged_variants(&source, &vloc, &parts)?;
                self.push(Item {
                    name: source.clone(),
                    def: loc.def.clone(),
                    shape: Shape::Untagged {
                        variants: alternatives,
                        unknown: true,
                    },
                    doc: vec![
                        format!(
                            "The alternative members of the `{value}` variant of [`{parent}`], \
                             flattened into it on the wire."
                        ),
                        untagged_doc(true),
                    ],
                    notes: notes.clone(),
                    default: false,
                })?;
                fields.push(synthetic_field(
                    "source",
                    &source,
                    format!("Which of the alternative members of [`{source}`] is present."),
                ));
                unique(fields.iter().map(|f| f.rust.as_str()))?;
            }
            let payload = if fields.is_empty() {
                Payload::Unit
            } else {
                Payload::Struct(fields)
            };
            variants.push(Variant {
                rust,
                wire: Some(value.to_owned()),
                payload,
                notes,
                doc: None,
            });
        }
        disambiguate(&mut variants);
        unique(variants.iter().map(|v| v.rust.as_str()))?;
        Ok(variants)
    }

    fn external_variants(
        &mut self,
        def: &str,
        loc: &Loc,
        members: &[&Value],
        parent_notes: &Notes,
    ) -> Result<Vec<Variant>, String> {
        let mut variants = Vec::new();
        for member in members {
            if is_string_enum(member) {
                for value in enum_values(member) {
                    variants.push(Variant {
                        rust: variant_name(value),
                        wire: Some(value.to_owned()),
                        payload: Payload::Unit,
                        notes: Notes {
                            experimental: !parent_notes.experimental
                                && self.history.experimental_value(def, value),
                            since: newer(
                                self.history.value_introduced(def, value),
                                parent_notes.since.as_deref(),
                            ),
                        },
                        doc: None,
                    });
                }
            } else if let Some(key) = external_key(member) {
                let eloc = loc.then(Step::External {
                    key: key.to_owned(),
                });
                let data = &member["properties"][key];
                let payload = if data["properties"].is_object() {
                    Payload::Struct(
                        self.fields(data, &eloc, None)
                            .map_err(|err| format!("variant `{key}`: {err}"))?,
                    )
                } else {
                    match self.prop_ty(data)? {
                        (ty, false) => Payload::Newtype(ty),
                        (_, true) => return Err(format!("variant `{key}` holds a nullable value")),
                    }
                };
                variants.push(Variant {
                    rust: variant_name(key),
                    wire: Some(key.to_owned()),
                    payload,
                    notes: self.variant_notes(&eloc, parent_notes),
                    doc: None,
                });
            }
            // What is left is the catch-all member, which `Unknown` covers.
        }
        disambiguate(&mut variants);
        unique(variants.iter().map(|v| v.rust.as_str()))?;
        Ok(variants)
    }

    /// The variants of an untagged union, most specific first, and whether
    /// it gets an `Unknown` fallback (when some member is an object: objects
    /// grow variants; plain scalars and lists do not).
    fn untagged_variants(
        &mut self,
        parent: &str,
        loc: &Loc,
        members: &[&Value],
    ) -> Result<(Vec<Variant>, bool), String> {
        let mut variants = Vec::new();
        let mut unknown = false;
        for (i, member) in members.iter().enumerate() {
            let notes = Notes {
                experimental: false,
                since: None,
            };
            let (rust, payload, doc) = if let Some(reference) = member["$ref"].as_str() {
                let target = ref_name(reference)?;
                let class = classify(self.def(target)?)?;
                unknown |= !matches!(class, Class::Alias | Class::StringEnum);
                (
                    strip_common(parent, target),
                    Payload::Newtype(Ty::Named(target.to_owned())),
                    format!("A [`{target}`]."),
                )
            } else if member["properties"].is_object() {
                unknown = true;
                let key = distinguishing_key(members, i)
                    .ok_or_else(|| format!("member {i} of an untagged union requires nothing"))?;
                let fields = self.fields(
                    member,
                    &loc.then(Step::Member {
                        key: key.to_owned(),
                    }),
                    None,
                )?;
                (
                    pascal(key),
                    Payload::Struct(fields),
                    format!("The member set with `{key}`."),
                )
            } else {
                let (ty, nullable) = self.prop_ty(member)?;
                if nullable {
                    return Err("a nullable member in an untagged union".to_owned());
                }
                let (rust, doc) = match &ty {
                    Ty::String => ("String", "A string."),
                    Ty::I64 | Ty::U64 | Ty::U32 | Ty::U16 | Ty::U8 | Ty::I32 => {
                        ("Integer", "An integer.")
                    }
                    Ty::F64 => ("Number", "A number."),
                    Ty::Bool => ("Boolean", "A boolean."),
                    Ty::Vec(_) => ("List", "A list."),
                    Ty::Map(_) | Ty::JsonMap => ("Object", "An object."),
                    _ => return Err(format!("unsupported untagged member {}", excerpt(member))),
                };
                (rust.to_owned(), Payload::Newtype(ty), doc.to_owned())
            };
            variants.push((
                (self.catches_all(member)?, self.specificity(member)?),
                Variant {
                    rust,
                    wire: None,
                    payload,
                    notes,
                    doc: Some(doc),
                },
            ));
        }
        // Members that accept any value of their JSON type (a union with a
        // fallback, a tolerant string enum) go last, the most demanding
        // members first; the sort is stable, so ties keep the schema's order.
        variants.sort_by(|a, b| (a.0.0, b.0.1).cmp(&(b.0.0, a.0.1)));
        let variants: Vec<Variant> = variants.into_iter().map(|(_, v)| v).collect();
        unique(variants.iter().map(|v| v.rust.as_str()))?;
        Ok((variants, unknown))
    }

    /// How much an object member demands: (required members, all members),
    /// the least over a union's members. Trying the most demanding member
    /// first keeps a value from decoding as a member that would drop some of
    /// its fields.
    fn specificity(&self, schema: &Value) -> Result<(usize, usize), String> {
        if let Some(reference) = schema["$ref"].as_str() {
            return self.specificity(self.def(ref_name(reference)?)?);
        }
        if let Some(props) = schema["properties"].as_object() {
            let required = schema["required"].as_array().map_or(0, Vec::len);
            return Ok((required, props.len()));
        }
        if members(schema).is_some() && classify(schema)? == Class::Untagged {
            let mut least = (usize::MAX, usize::MAX);
            for member in non_null(schema) {
                least = least.min(self.specificity(member)?);
            }
            return Ok(least);
        }
        Ok((0, 0))
    }

    /// Whether a union member decodes every value of its JSON type.
    fn catches_all(&self, member: &Value) -> Result<bool, String> {
        let Some(reference) = member["$ref"].as_str() else {
            return Ok(self.prop_ty(member).is_ok_and(|(ty, _)| ty == Ty::Value));
        };
        let name = ref_name(reference)?;
        let def = self.def(name)?;
        Ok(match classify(def)? {
            Class::Tagged { .. } | Class::External => true,
            Class::Untagged => !self.nested.contains_key(name),
            Class::StringEnum => !self.strict.contains_key(name),
            Class::Struct => def.get("oneOf").is_some(),
            _ => false,
        })
    }

    fn variant_notes(&self, loc: &Loc, parent: &Notes) -> Notes {
        Notes {
            experimental: !parent.experimental && self.history.experimental_object(loc),
            since: newer(self.history.introduced(loc, None), parent.since.as_deref()),
        }
    }
}

fn non_null(schema: &Value) -> Vec<&Value> {
    members(schema)
        .into_iter()
        .flatten()
        .filter(|m| !is_null(m))
        .collect()
}

/// `since` unless it says no more than `parent` does.
fn newer(since: Option<&str>, parent: Option<&str>) -> Option<String> {
    match since {
        Some(s) if Some(s) != parent => Some(s.to_owned()),
        _ => None,
    }
}

/// A variant name from a wire value; `Unknown` is kept for the fallback.
fn variant_name(wire: &str) -> String {
    match pascal(wire) {
        name if name == "Unknown" => "UnknownValue".to_owned(),
        name => name,
    }
}

/// When two wire values map to one name (`openai/form` and `openaiForm`),
/// the ones with separators spell them out (`OpenaiSlashForm`).
fn disambiguate(variants: &mut [Variant]) {
    let names: Vec<String> = variants.iter().map(|v| v.rust.clone()).collect();
    for variant in variants.iter_mut() {
        let clashes = names.iter().filter(|n| **n == variant.rust).count() > 1;
        if let (true, Some(wire)) = (clashes, &variant.wire) {
            variant.rust = spelled_out(wire);
        }
    }
}

fn spelled_out(wire: &str) -> String {
    let mut out = String::new();
    let mut part = String::new();
    for c in wire.chars() {
        let word = match c {
            '/' => "Slash",
            '-' => "Dash",
            '_' => "Underscore",
            _ => {
                part.push(c);
                continue;
            }
        };
        if !part.is_empty() {
            out.push_str(&pascal(&part));
            part.clear();
        }
        out.push_str(word);
    }
    if !part.is_empty() {
        out.push_str(&pascal(&part));
    }
    out
}

/// `McpElicitationUntitledSingleSelectEnumSchema` in
/// `McpElicitationSingleSelectEnumSchema` → `Untitled`: the member's name
/// without the words it shares with its union at both ends.
fn strip_common(parent: &str, member: &str) -> String {
    let p = type_words(parent);
    let m = type_words(member);
    let prefix = p.iter().zip(&m).take_while(|(a, b)| a == b).count();
    let suffix = p
        .iter()
        .rev()
        .zip(m.iter().rev())
        .take_while(|(a, b)| a == b)
        .count()
        .min(m.len() - prefix);
    let core = &m[prefix..m.len() - suffix];
    if core.is_empty() {
        member.to_owned()
    } else {
        core.concat()
    }
}

/// The first key member `i` requires that no other member requires, or its
/// first required key.
fn distinguishing_key<'a>(members: &[&'a Value], i: usize) -> Option<&'a str> {
    let required: Vec<&str> = members[i]["required"]
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    required
        .iter()
        .copied()
        .find(|key| {
            members
                .iter()
                .enumerate()
                .all(|(j, other)| j == i || !requires(other, key))
        })
        .or_else(|| required.first().copied())
}

fn synthetic_field(rust: &str, ty: &str, doc: String) -> Field {
    Field {
        rust: rust.to_owned(),
        wire: String::new(),
        ty: Ty::Named(ty.to_owned()),
        presence: Presence::Required,
        relaxed: Relaxed::No,
        flatten: true,
        experimental: false,
        since: None,
        doc: Some(doc),
        lenient: false,
    }
}

fn unique<'a>(names: impl Iterator<Item = &'a str>) -> Result<(), String> {
    let mut seen = BTreeSet::new();
    for name in names {
        if !seen.insert(name) {
            return Err(format!("two members map to the Rust name `{name}`"));
        }
    }
    Ok(())
}

fn tagged_doc(tag: &str) -> String {
    format!(
        "Tagged by its `{tag}` member. An unknown tag, or a known tag whose payload this \
         version cannot read, decodes as `Unknown` with the raw JSON."
    )
}

fn untagged_doc(unknown: bool) -> String {
    if unknown {
        "Untagged: decoding tries the variants in the order listed (the most demanding \
         first) and keeps the first that fits, or `Unknown` when none does."
            .to_owned()
    } else {
        "Untagged: decoding keeps the first variant, in the order listed, that fits.".to_owned()
    }
}
