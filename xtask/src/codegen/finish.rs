//! Passes over all items once lowered: which derive `Default`, and the
//! opening and closing lines of every item's doc.

use std::collections::{BTreeMap, BTreeSet};

use super::input::Kind;
use super::lower::Role;
use super::model::{Field, Item, Payload, Presence, Shape, Ty, Variant};

/// Types every field, variant payload or alias of an item mentions.
pub(crate) fn mentioned(item: &Item) -> Vec<&str> {
    fn fields(fields: &[Field]) -> impl Iterator<Item = &str> {
        fields.iter().filter_map(|f| f.ty.named())
    }
    fn variants(variants: &[Variant]) -> Vec<&str> {
        variants
            .iter()
            .flat_map(|v| match &v.payload {
                Payload::Unit => Vec::new(),
                Payload::Newtype(ty) => ty.named().into_iter().collect(),
                Payload::Struct(f) => fields(f).collect(),
            })
            .collect()
    }
    match &item.shape {
        Shape::Struct { fields: f, .. } => fields(f).collect(),
        Shape::Alias(ty) => ty.named().into_iter().collect(),
        Shape::Tagged { variants: v, .. }
        | Shape::External { variants: v }
        | Shape::Untagged { variants: v, .. } => variants(v),
        Shape::EmptyStruct | Shape::UnitStruct | Shape::StringEnum { .. } => Vec::new(),
    }
}

/// `Default` is derived for structs whose every field has a default value,
/// computed to a fixed point since structs nest.
pub(super) fn compute_defaults(items: &mut BTreeMap<String, Item>) {
    fn ty_default(ty: &Ty, items: &BTreeMap<String, Item>) -> bool {
        match ty {
            Ty::Named(name) => items.get(name).is_some_and(|i| i.default),
            _ => true,
        }
    }
    loop {
        let mut changed = false;
        let names: Vec<String> = items.keys().cloned().collect();
        for name in names {
            let item = &items[&name];
            if item.default {
                continue;
            }
            let default = match &item.shape {
                Shape::Struct { fields, .. } => fields
                    .iter()
                    .all(|f| f.presence != Presence::Required || ty_default(&f.ty, items)),
                Shape::EmptyStruct | Shape::UnitStruct => true,
                Shape::Alias(ty) => ty_default(ty, items),
                _ => false,
            };
            if default {
                if let Some(item) = items.get_mut(&name) {
                    item.default = true;
                }
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
}

/// Marks the `Option` fields whose value can fail to decode on a shape a
/// newer server sends: objects, untagged unions without a catch-all, strict
/// string enums, and lists or maps of them. Such a field is decoded
/// leniently (`None` when it does not decode), so that one changed nested
/// part does not fail the item, notification or response around it. Tagged
/// unions and tolerant string enums keep what they do not know already, and
/// scalars are left strict: a scalar changing type is not a shape this rule
/// is for, and buffering them would cost every message.
pub(super) fn mark_lenient(items: &mut BTreeMap<String, Item>) {
    fn can_fail(ty: &Ty, items: &BTreeMap<String, Item>, depth: usize) -> bool {
        match ty {
            Ty::Vec(inner) | Ty::Map(inner) | Ty::Option(inner) => can_fail(inner, items, depth),
            // An alias cycle cannot occur in a schema, but the depth bound
            // keeps a malformed one from recursing forever.
            Ty::Named(name) if depth < 16 => match items.get(name).map(|i| &i.shape) {
                Some(Shape::Struct { .. }) => true,
                Some(Shape::Untagged { unknown, .. }) => !unknown,
                Some(Shape::StringEnum { strict_for, .. }) => strict_for.is_some(),
                Some(Shape::Alias(inner)) => can_fail(inner, items, depth + 1),
                _ => false,
            },
            _ => false,
        }
    }
    let decisions: Vec<(String, Vec<bool>)> = items
        .values()
        .map(|item| {
            let marks = fields_of(item)
                .map(|f| {
                    f.presence != Presence::Required && !f.flatten && can_fail(&f.ty, items, 0)
                })
                .collect();
            (item.name.clone(), marks)
        })
        .collect();
    for (name, marks) in decisions {
        if let Some(item) = items.get_mut(&name) {
            for (field, lenient) in fields_of_mut(item).zip(marks) {
                field.lenient = lenient;
            }
        }
    }
}

/// Every field of an item, its variants' included, in order.
fn fields_of(item: &Item) -> Box<dyn Iterator<Item = &Field> + '_> {
    match &item.shape {
        Shape::Struct { fields, .. } => Box::new(fields.iter()),
        Shape::Tagged { variants, .. }
        | Shape::External { variants }
        | Shape::Untagged { variants, .. } => {
            Box::new(variants.iter().flat_map(|v| match &v.payload {
                Payload::Struct(fields) => fields.as_slice(),
                _ => &[],
            }))
        }
        _ => Box::new(std::iter::empty()),
    }
}

fn fields_of_mut(item: &mut Item) -> Box<dyn Iterator<Item = &mut Field> + '_> {
    match &mut item.shape {
        Shape::Struct { fields, .. } => Box::new(fields.iter_mut()),
        Shape::Tagged { variants, .. }
        | Shape::External { variants }
        | Shape::Untagged { variants, .. } => {
            Box::new(variants.iter_mut().flat_map(|v| match &mut v.payload {
                Payload::Struct(fields) => fields.as_mut_slice(),
                _ => &mut [],
            }))
        }
        _ => Box::new(std::iter::empty()),
    }
}

/// Opens every item's doc with what it is to the protocol (the methods it
/// serves, or the types that use it) and closes it with its notes.
pub(super) fn write_docs(items: &mut BTreeMap<String, Item>, roles: &BTreeMap<String, Vec<Role>>) {
    let mut users: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for item in items.values() {
        for used in mentioned(item) {
            if used != item.name {
                users
                    .entry(used.to_owned())
                    .or_default()
                    .insert(item.name.clone());
            }
        }
    }
    for item in items.values_mut() {
        let mut doc = Vec::new();
        match roles.get(&item.name) {
            Some(roles) => doc.extend(roles.iter().map(role_doc)),
            None => {
                if let Some(users) = users.get(&item.name) {
                    doc.push(used_by(users));
                }
            }
        }
        doc.append(&mut item.doc);
        if item.notes.experimental {
            doc.push("Only in the experimental API.".to_owned());
        }
        if let Some(since) = &item.notes.since {
            doc.push(format!("Absent from servers older than {since}."));
        }
        item.doc = doc;
    }
}

fn role_doc(role: &Role) -> String {
    match role {
        Role::Params { kind, method } => match kind {
            Kind::ClientRequest => format!("Params of the `{method}` request."),
            Kind::ClientNotification => {
                format!("Params of the `{method}` notification, which the client sends.")
            }
            Kind::ServerNotification => format!("Params of the `{method}` notification."),
            Kind::ServerRequest => {
                format!("Params of the `{method}` request, which the server sends to the client.")
            }
        },
        Role::Response { kind, method } => match kind {
            Kind::ServerRequest => {
                format!("The client's answer to the `{method}` server request.")
            }
            _ => format!("Response to the `{method}` request."),
        },
    }
}

fn used_by(users: &BTreeSet<String>) -> String {
    const SHOWN: usize = 4;
    let links: Vec<String> = users
        .iter()
        .take(SHOWN)
        .map(|u| format!("[`{u}`]"))
        .collect();
    let more = users.len().saturating_sub(SHOWN);
    let list = match (links.as_slice(), more) {
        ([one], 0) => one.clone(),
        (_, 0) => {
            let (last, rest) = links
                .split_last()
                .map_or(("", &[][..]), |(l, r)| (l.as_str(), r));
            format!("{} and {last}", rest.join(", "))
        }
        _ => format!("{} and {more} more", links.join(", ")),
    };
    format!("Used by {list}.")
}
