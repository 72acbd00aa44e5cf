//! The generator's intermediate form: Rust items to emit, decided from the
//! schema by `lower` and printed by `render_types`.

/// A Rust type expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Ty {
    String,
    Bool,
    I64,
    U64,
    U32,
    U16,
    U8,
    I32,
    F64,
    /// `serde_json::Value`: any JSON.
    Value,
    /// `serde_json::Map<String, Value>`: any JSON object.
    JsonMap,
    Vec(Box<Ty>),
    /// `BTreeMap<String, T>`.
    Map(Box<Ty>),
    /// `Option<T>`, only inside a container (a map of nullable values).
    Option(Box<Ty>),
    /// A generated item (or an alias of one).
    Named(String),
}

impl Ty {
    pub(crate) fn rust(&self) -> String {
        match self {
            Ty::String => "String".into(),
            Ty::Bool => "bool".into(),
            Ty::I64 => "i64".into(),
            Ty::U64 => "u64".into(),
            Ty::U32 => "u32".into(),
            Ty::U16 => "u16".into(),
            Ty::U8 => "u8".into(),
            Ty::I32 => "i32".into(),
            Ty::F64 => "f64".into(),
            Ty::Value => "Value".into(),
            Ty::JsonMap => "Map<String, Value>".into(),
            Ty::Vec(inner) => format!("Vec<{}>", inner.rust()),
            Ty::Map(inner) => format!("BTreeMap<String, {}>", inner.rust()),
            Ty::Option(inner) => format!("Option<{}>", inner.rust()),
            Ty::Named(name) => name.clone(),
        }
    }

    /// The generated items this type mentions.
    pub(crate) fn named(&self) -> Option<&str> {
        match self {
            Ty::Vec(inner) | Ty::Map(inner) | Ty::Option(inner) => inner.named(),
            Ty::Named(name) => Some(name),
            _ => None,
        }
    }
}

/// How a field appears on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Presence {
    /// Always there and never `null`: `T`.
    Required,
    /// Always there, possibly `null`: `Option<T>`, always serialized.
    Nullable,
    /// May be left out (or be `null`): `Option<T>`, left out when `None`.
    Optional,
}

/// Why a field that the pinned schema requires is optional in Rust.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Relaxed {
    No,
    /// An older supported version does not require it.
    OlderServers(Option<String>),
}

#[derive(Clone, Debug)]
pub(crate) struct Field {
    pub(crate) rust: String,
    pub(crate) wire: String,
    pub(crate) ty: Ty,
    pub(crate) presence: Presence,
    pub(crate) relaxed: Relaxed,
    /// `#[serde(flatten)]`: an enum carrying the rest of the object.
    pub(crate) flatten: bool,
    pub(crate) experimental: bool,
    /// The oldest supported version with this field, when newer than its
    /// object.
    pub(crate) since: Option<String>,
    /// Hand-picked doc for synthetic fields (flatten).
    pub(crate) doc: Option<String>,
    /// An `Option` whose value may fail to decode when a newer server
    /// changes its shape: it then reads as `None` instead of failing the
    /// object around it (set by `finish::mark_lenient`).
    pub(crate) lenient: bool,
}

#[derive(Clone, Debug)]
pub(crate) struct Notes {
    pub(crate) experimental: bool,
    pub(crate) since: Option<String>,
}

#[derive(Clone, Debug)]
pub(crate) struct EnumValue {
    pub(crate) rust: String,
    pub(crate) wire: String,
    pub(crate) notes: Notes,
}

#[derive(Clone, Debug)]
pub(crate) enum Payload {
    Unit,
    Newtype(Ty),
    Struct(Vec<Field>),
}

#[derive(Clone, Debug)]
pub(crate) struct Variant {
    pub(crate) rust: String,
    /// The tag value or key; `None` for untagged variants.
    pub(crate) wire: Option<String>,
    pub(crate) payload: Payload,
    pub(crate) notes: Notes,
    /// Doc for untagged variants (what the member is).
    pub(crate) doc: Option<String>,
}

#[derive(Clone, Debug)]
pub(crate) enum Shape {
    Struct {
        fields: Vec<Field>,
        /// `additionalProperties: true`: unknown members kept in `extra`.
        extra: bool,
    },
    /// A struct without fields: serializes as `{}`.
    EmptyStruct,
    /// A unit struct: serializes as `null` (params of methods without params).
    UnitStruct,
    Alias(Ty),
    StringEnum {
        values: Vec<EnumValue>,
        /// No `Unknown`: the value tells the members of an untagged union apart.
        strict_for: Option<String>,
    },
    Tagged {
        tag: String,
        variants: Vec<Variant>,
    },
    External {
        variants: Vec<Variant>,
    },
    Untagged {
        variants: Vec<Variant>,
        unknown: bool,
    },
}

#[derive(Clone, Debug)]
pub(crate) struct Item {
    pub(crate) name: String,
    /// The schema definition it comes from (an inline item names its parent).
    pub(crate) def: String,
    pub(crate) shape: Shape,
    pub(crate) doc: Vec<String>,
    pub(crate) notes: Notes,
    pub(crate) default: bool,
}
