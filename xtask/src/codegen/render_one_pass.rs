//! The one-pass read of a tagged union (see the protocol crate's
//! `tagged::one_pass` module): a struct that takes the members of every
//! variant it can build as they come, and a function that builds the
//! variant its tag names from them, or gives up so that the union is read
//! captured.
//!
//! A variant that flattens a part of its own (`source`, the alternative
//! members of an image or an audio input) is read in one pass when every
//! alternative is a set of required scalar members: their members join
//! the struct, and the first alternative whose members are all there is
//! built, as serde's untagged derive tries them in order. When none is
//! there, the part is `Unknown` in the captured read, and the read falls
//! back.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::model::{Field, Item, Payload, Presence, Shape, Ty, Variant};

/// The untagged unions whose alternatives one pass can tell apart, by
/// name: each alternative a struct of required members of scalar types,
/// which a member's absence or `null` rules out exactly as it rules out
/// the alternative in serde's untagged read.
pub(super) type Alternatives = BTreeMap<String, Vec<Variant>>;

/// The [`Alternatives`] among `items`.
pub(super) fn alternatives<'a>(items: impl Iterator<Item = &'a Item>) -> Alternatives {
    items
        .filter_map(|item| match &item.shape {
            Shape::Untagged { variants, .. } if variants.iter().all(scalar_members) => {
                Some((item.name.clone(), variants.clone()))
            }
            _ => None,
        })
        .collect()
}

/// Whether `variant` is a struct of required, non-lenient members of
/// scalar types: none reads `null` as a value.
fn scalar_members(variant: &Variant) -> bool {
    let Payload::Struct(fields) = &variant.payload else {
        return false;
    };
    !fields.is_empty()
        && fields.iter().all(|field| {
            field.presence == Presence::Required
                && !field.lenient
                && !field.flatten
                && matches!(
                    field.ty,
                    Ty::String
                        | Ty::Bool
                        | Ty::I64
                        | Ty::U64
                        | Ty::U32
                        | Ty::U16
                        | Ty::U8
                        | Ty::I32
                        | Ty::F64
                )
        })
}

/// How the one-pass struct holds one member.
struct Slot {
    /// Read as its type, which is the same, read the same way, in every
    /// variant that has the member; otherwise kept as text.
    typed: bool,
    /// The type and leniency of its first declaration.
    first: (String, bool),
}

/// One union (with the members of the struct it is flattened into, if
/// that is what is read) as the one-pass read sees it.
pub(super) struct OnePass<'a> {
    target: &'a str,
    tag: &'a str,
    /// The tags of all variants, in order.
    tags: String,
    /// Every variant, `None` where it cannot be built in one pass: then its
    /// tag makes the read fall back.
    variants: Vec<Option<&'a Variant>>,
    own: &'a [&'a Field],
    /// By wire name; `m{index}` in the struct.
    slots: BTreeMap<&'a str, Slot>,
    alternatives: &'a Alternatives,
}

impl<'a> OnePass<'a> {
    /// The one-pass read of `target`: the union itself (`own` empty), or a
    /// struct of the members `own` and the union flattened. `None` when no
    /// variant can be built in one pass, or the struct's own members cannot
    /// be read so.
    pub(super) fn of(
        target: &'a str,
        tag: &'a str,
        tags: String,
        variants: &'a [Variant],
        own: &'a [&'a Field],
        parent_members: &[String],
        alternatives: &'a Alternatives,
    ) -> Option<OnePass<'a>> {
        if !own.iter().all(|field| plain(field, tag)) {
            return None;
        }
        // Each variant that can be built in one pass, with the members the
        // one-pass struct takes for it.
        let accepted: Vec<Option<(&Variant, Vec<&Field>)>> = variants
            .iter()
            .map(|variant| match &variant.payload {
                Payload::Unit => Some((variant, Vec::new())),
                Payload::Struct(fields) => members(fields, alternatives)
                    .filter(|members| {
                        members
                            .iter()
                            .all(|field| plain(field, tag) && !parent_members.contains(&field.wire))
                    })
                    .map(|members| (variant, members)),
                Payload::Newtype(_) => None,
            })
            .collect();
        if accepted.iter().all(Option::is_none) {
            return None;
        }
        let mut slots: BTreeMap<&str, Slot> = BTreeMap::new();
        let fields = accepted
            .iter()
            .flatten()
            .flat_map(|(_, members)| members.iter().copied());
        for field in own.iter().copied().chain(fields) {
            let declared = (field.ty.rust(), field.lenient);
            slots
                .entry(&field.wire)
                .and_modify(|slot| slot.typed &= slot.first == declared)
                .or_insert(Slot {
                    typed: true,
                    first: declared,
                });
        }
        let variants = accepted
            .iter()
            .map(|accepted| accepted.as_ref().map(|(variant, _)| *variant))
            .collect();
        Some(OnePass {
            target,
            tag,
            tags,
            variants,
            own,
            slots,
            alternatives,
        })
    }

    /// `read_in_one_pass`, in an `impl` block of the target. `value` writes
    /// the target for a variant, given the variant's path and its members
    /// (`{ a: …, b: … }`, or empty for a unit).
    pub(super) fn render(&self, out: &mut String, value: impl Fn(&Variant, &str) -> String) {
        let target = self.target;
        let _ = writeln!(
            out,
            "\nimpl {target} {{\n\
             \x20   /// Reads the value in one pass, or falls back (see the `tagged` module).\n\
             \x20   fn read_in_one_pass<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {{\n\
             \x20       #[derive(Deserialize)]\n\
             \x20       struct Members<'a> {{\n\
             \x20           #[serde(rename = {:?}, borrow)]\n\
             \x20           tag: tagged::Tag<'a>,",
            self.tag
        );
        for (index, (wire, slot)) in self.slots.iter().enumerate() {
            let (ty, lenient) = &slot.first;
            let (attrs, ty) = match (slot.typed, lenient) {
                (true, true) => (
                    ", default, deserialize_with = \"lenient\"",
                    format!("Option<{ty}>"),
                ),
                (true, false) => (", default", format!("Option<{ty}>")),
                (false, _) => (", default, borrow", "Option<tagged::Raw<'a>>".to_owned()),
            };
            let _ = writeln!(
                out,
                "            #[serde(rename = {wire:?}{attrs})]\n            m{index}: {ty},"
            );
        }
        let _ = writeln!(
            out,
            "        }}\n\
             \x20       const TAGS: &[&str] = &[{}];\n\
             \x20       fn build(m: Members<'_>) -> Option<{target}> {{\n\
             \x20           Some(match m.tag.of(TAGS)? {{",
            self.tags
        );
        for (index, variant) in self.variants.iter().enumerate() {
            let Some(variant) = variant else { continue };
            let members = match &variant.payload {
                Payload::Struct(fields) => format!(" {{ {} }}", self.reads(fields.iter())),
                Payload::Unit | Payload::Newtype(_) => String::new(),
            };
            let _ = writeln!(
                out,
                "                {index} => {},",
                value(variant, &members)
            );
        }
        let _ = writeln!(
            out,
            "                _ => return None,\n\
             \x20           }})\n\
             \x20       }}\n\
             \x20       build(tagged::members(deserializer)?).ok_or_else(tagged::fall_back)\n\
             \x20   }}\n}}"
        );
    }

    /// `name: …, …`: the struct's own members, read from the one-pass
    /// struct `m`.
    pub(super) fn own_reads(&self) -> String {
        self.reads(self.own.iter().copied())
    }

    fn reads<'f>(&self, fields: impl Iterator<Item = &'f Field>) -> String {
        let reads: Vec<String> = fields
            .map(|field| {
                let read = match self.flattened(field) {
                    Some((part, alternatives)) => self.choice(part, alternatives),
                    None => self.read(field),
                };
                format!("{}: {read}", field.rust)
            })
            .collect();
        reads.join(", ")
    }

    /// For a flattened member one pass reads, its part: see [`part`].
    fn flattened<'f>(&self, field: &'f Field) -> Option<(&'f str, &'a [Variant])> {
        part(field, self.alternatives)
    }

    /// The expression that builds the first of `alternatives` whose
    /// members are all there, or returns `None`: `if m.m3.is_some() {
    /// Part::Url { url: m.m3? } } else if … else { return None }`.
    fn choice(&self, part: &str, alternatives: &[Variant]) -> String {
        let mut choice = String::new();
        for variant in alternatives {
            let Payload::Struct(fields) = &variant.payload else {
                continue;
            };
            let present: Vec<String> = fields
                .iter()
                .map(|field| format!("m.m{}.is_some()", self.index(field)))
                .collect();
            let _ = write!(
                choice,
                "if {} {{ {part}::{} {{ {} }} }} else ",
                present.join(" && "),
                variant.rust,
                self.reads(fields.iter())
            );
        }
        choice.push_str("{ return None }");
        choice
    }

    /// The index of `field`'s slot: `m{index}` in the struct.
    fn index(&self, field: &Field) -> usize {
        self.slots
            .keys()
            .position(|wire| *wire == field.wire)
            .unwrap_or_default()
    }

    /// The expression that reads `field` from `m`, or returns `None`.
    fn read(&self, field: &Field) -> String {
        let index = self.index(field);
        let typed = self
            .slots
            .get(field.wire.as_str())
            .is_some_and(|slot| slot.typed);
        let ty = field.ty.rust();
        match (typed, &field.presence, field.lenient) {
            (true, Presence::Required, _) => format!("m.m{index}?"),
            (true, _, _) => format!("m.m{index}"),
            (false, Presence::Required, _) => {
                format!("m.m{index}.as_ref()?.decode::<{ty}>().ok()?")
            }
            (false, _, true) => format!(
                "match &m.m{index} {{ Some(raw) => raw.lenient::<{ty}>().ok()?, None => None }}"
            ),
            (false, _, false) => format!(
                "match &m.m{index} {{ Some(raw) => raw.decode::<Option<{ty}>>().ok()?, None => None }}"
            ),
        }
    }
}

/// The members of a variant's `fields` as the one-pass struct takes them:
/// each plain member, and for a flattened part, the members of all its
/// alternatives (a member several alternatives have, once for each).
/// `None` when a part is not among `alternatives`, the variant flattens
/// more than one, or a part's member is named like one of the variant's
/// own: the part sees only the members the variant leaves.
fn members<'a>(fields: &'a [Field], alternatives: &'a Alternatives) -> Option<Vec<&'a Field>> {
    let (parts, mut members): (Vec<&Field>, Vec<&Field>) =
        fields.iter().partition(|field| field.flatten);
    match parts.as_slice() {
        [] => {}
        [field] if field.presence == Presence::Required => {
            let (_, alternatives) = part(field, alternatives)?;
            let own = members.len();
            for variant in alternatives {
                let Payload::Struct(fields) = &variant.payload else {
                    return None;
                };
                for field in fields {
                    if members[..own]
                        .iter()
                        .any(|member| member.wire == field.wire)
                    {
                        return None;
                    }
                    members.push(field);
                }
            }
        }
        _ => return None,
    }
    Some(members)
}

/// For a flattened member whose part is among `alternatives`, the part's
/// name and its alternatives.
fn part<'f, 'a>(
    field: &'f Field,
    alternatives: &'a Alternatives,
) -> Option<(&'f str, &'a [Variant])> {
    match &field.ty {
        Ty::Named(name) if field.flatten => alternatives
            .get(name)
            .map(|alternatives| (name.as_str(), alternatives.as_slice())),
        _ => None,
    }
}

/// Whether a member can be read into the one-pass struct: not flattened,
/// not named as the tag, and not a lenient member that is required (a
/// lenient member is an `Option`).
fn plain(field: &Field, tag: &str) -> bool {
    !field.flatten && field.wire != tag && !(field.lenient && field.presence == Presence::Required)
}
