//! One difference between two protocol versions, whether it breaks a
//! client written against the older one, and the grouped report.

use std::fmt::Write as _;

use crate::codegen::Kind;

/// A difference found by [`super::compare`]; paths name a definition and
/// the way into it: `Project.position`, `ThreadItem[type=userMessage].id`,
/// `Foo.items[]`, `Foo.env{}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Change {
    MethodAdded {
        kind: Kind,
        method: String,
        experimental: bool,
    },
    MethodRemoved {
        kind: Kind,
        method: String,
        experimental: bool,
    },
    /// Only the experimental API had it; now the stable one has it too.
    MethodNowStable {
        kind: Kind,
        method: String,
    },
    /// The stable API had it; now only the experimental one has it.
    MethodNowExperimental {
        kind: Kind,
        method: String,
    },
    /// The params type or whether params are sent; `breaking` unless params
    /// only became optional (or optional params appeared).
    ParamsChanged {
        kind: Kind,
        method: String,
        from: String,
        to: String,
        breaking: bool,
    },
    ResponseChanged {
        kind: Kind,
        method: String,
        from: String,
        to: String,
    },
    DefinitionAdded {
        name: String,
    },
    /// `reached_by` names a method of both versions whose params or
    /// response reached the definition in the older one.
    DefinitionRemoved {
        name: String,
        reached_by: Option<String>,
    },
    FieldAdded {
        path: String,
        required: bool,
    },
    FieldRemoved {
        path: String,
        required: bool,
    },
    FieldNowRequired {
        path: String,
    },
    FieldNoLongerRequired {
        path: String,
    },
    /// The node changed what it is: another `$ref`, scalar, nullability,
    /// or an object turned into a union.
    TypeChanged {
        path: String,
        from: String,
        to: String,
    },
    EnumValueAdded {
        path: String,
        value: String,
    },
    EnumValueRemoved {
        path: String,
        value: String,
    },
    VariantAdded {
        path: String,
        variant: String,
    },
    VariantRemoved {
        path: String,
        variant: String,
    },
}

/// The report's groups, in printing order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Group {
    Methods(Kind),
    Definitions,
    Fields,
    Types,
    EnumValues,
    Variants,
}

impl Group {
    fn title(self) -> String {
        match self {
            Group::Methods(kind) => kind.plural().to_owned(),
            Group::Definitions => "definitions".to_owned(),
            Group::Fields => "fields".to_owned(),
            Group::Types => "types".to_owned(),
            Group::EnumValues => "enum values".to_owned(),
            Group::Variants => "union variants".to_owned(),
        }
    }
}

impl Change {
    /// Whether a client written against the older version may fail against
    /// the newer one: something it used is gone, changed type or became
    /// required.
    pub(crate) fn breaking(&self) -> bool {
        match self {
            Change::MethodRemoved { .. }
            | Change::MethodNowExperimental { .. }
            | Change::ResponseChanged { .. }
            | Change::FieldNowRequired { .. }
            | Change::TypeChanged { .. }
            | Change::EnumValueRemoved { .. }
            | Change::VariantRemoved { .. } => true,
            Change::ParamsChanged { breaking, .. } => *breaking,
            Change::DefinitionRemoved { reached_by, .. } => reached_by.is_some(),
            // A field that appears required is one a client never sent.
            Change::FieldAdded { required, .. } | Change::FieldRemoved { required, .. } => {
                *required
            }
            Change::MethodAdded { .. }
            | Change::MethodNowStable { .. }
            | Change::DefinitionAdded { .. }
            | Change::FieldNoLongerRequired { .. }
            | Change::EnumValueAdded { .. }
            | Change::VariantAdded { .. } => false,
        }
    }

    pub(crate) fn group(&self) -> Group {
        match self {
            Change::MethodAdded { kind, .. }
            | Change::MethodRemoved { kind, .. }
            | Change::MethodNowStable { kind, .. }
            | Change::MethodNowExperimental { kind, .. }
            | Change::ParamsChanged { kind, .. }
            | Change::ResponseChanged { kind, .. } => Group::Methods(*kind),
            Change::DefinitionAdded { .. } | Change::DefinitionRemoved { .. } => Group::Definitions,
            Change::FieldAdded { .. }
            | Change::FieldRemoved { .. }
            | Change::FieldNowRequired { .. }
            | Change::FieldNoLongerRequired { .. } => Group::Fields,
            Change::TypeChanged { .. } => Group::Types,
            Change::EnumValueAdded { .. } | Change::EnumValueRemoved { .. } => Group::EnumValues,
            Change::VariantAdded { .. } | Change::VariantRemoved { .. } => Group::Variants,
        }
    }

    /// One line, without the breaking/additive mark.
    pub(crate) fn describe(&self) -> String {
        let api = |experimental: &bool| {
            if *experimental {
                " (experimental API)"
            } else {
                ""
            }
        };
        match self {
            Change::MethodAdded {
                method,
                experimental,
                ..
            } => format!("added {method}{}", api(experimental)),
            Change::MethodRemoved {
                method,
                experimental,
                ..
            } => format!("removed {method}{}", api(experimental)),
            Change::MethodNowStable { method, .. } => {
                format!("{method} is now in the stable API")
            }
            Change::MethodNowExperimental { method, .. } => {
                format!("{method} is now only in the experimental API")
            }
            Change::ParamsChanged {
                method, from, to, ..
            } => format!("{method}: params {from} -> {to}"),
            Change::ResponseChanged {
                method, from, to, ..
            } => format!("{method}: response {from} -> {to}"),
            Change::DefinitionAdded { name } => format!("added {name}"),
            Change::DefinitionRemoved { name, reached_by } => match reached_by {
                Some(method) => format!("removed {name}, which {method} reached"),
                None => format!("removed {name}, which no kept method reached"),
            },
            Change::FieldAdded { path, required } => {
                format!("added {path}{}", required_text(*required))
            }
            Change::FieldRemoved { path, required } => {
                format!("removed {path}{}", required_text(*required))
            }
            Change::FieldNowRequired { path } => format!("{path} is now required"),
            Change::FieldNoLongerRequired { path } => format!("{path} is no longer required"),
            Change::TypeChanged { path, from, to } => format!("{path}: {from} -> {to}"),
            Change::EnumValueAdded { path, value } => format!("{path}: added {value}"),
            Change::EnumValueRemoved { path, value } => format!("{path}: removed {value}"),
            Change::VariantAdded { path, variant } => format!("{path}: added [{variant}]"),
            Change::VariantRemoved { path, variant } => format!("{path}: removed [{variant}]"),
        }
    }
}

fn required_text(required: bool) -> &'static str {
    if required {
        " (required)"
    } else {
        " (optional)"
    }
}

/// The report: one block per group, breaking changes first within it,
/// each line marked `breaking` or `additive`.
pub(crate) fn render(changes: &[Change]) -> String {
    let mut sorted: Vec<&Change> = changes.iter().collect();
    sorted.sort_by_key(|change| (change.group(), !change.breaking()));
    let mut out = String::new();
    let mut current = None;
    for change in sorted {
        let group = change.group();
        if current != Some(group) {
            let count = changes.iter().filter(|c| c.group() == group).count();
            let _ = writeln!(out, "{} ({count}):", group.title());
            current = Some(group);
        }
        let mark = if change.breaking() {
            "breaking"
        } else {
            "additive"
        };
        let _ = writeln!(out, "  {mark}  {}", change.describe());
    }
    out
}

/// The one-line summary.
pub(crate) fn summary(changes: &[Change], from: &str, to: &str) -> String {
    let breaking = changes.iter().filter(|c| c.breaking()).count();
    if changes.is_empty() {
        return format!("drift from codex {from} to codex {to}: none");
    }
    format!(
        "drift from codex {from} to codex {to}: {breaking} breaking, {} additive",
        changes.len() - breaking
    )
}
