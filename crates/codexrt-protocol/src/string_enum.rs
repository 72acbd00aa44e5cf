//! `string_enum!`: the one macro behind every generated string enum, so the
//! generated code stays small and serde's derive is not run on them.
//!
//! ```text
//! string_enum! {
//!     /// Docs.
//!     pub enum SandboxMode {
//!         /// `read-only` on the wire.
//!         ReadOnly = "read-only",
//!     }
//! }
//! ```
//!
//! generates the enum with an `Unknown(String)` fallback, `as_str`,
//! `from_wire`, `Display`, `FromStr` (infallible) and serde impls that read
//! and write the plain string. With `strict` before `pub`, there is no
//! fallback and decoding an unknown value fails.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{Error, Visitor};

/// Expands to a string enum; see the module doc. Exported (hidden) so that
/// types generated outside this crate, such as the older versions' types
/// the compatibility tests decode with, expand the same way.
#[doc(hidden)]
#[macro_export]
macro_rules! __string_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $($(#[$vmeta:meta])* $variant:ident = $wire:literal,)*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
            /// A value this version does not know, kept verbatim.
            Unknown(String),
        }

        impl $name {
            /// The wire string.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $wire,)*
                    Self::Unknown(other) => other,
                }
            }

            /// The variant for a wire string; never fails.
            pub fn from_wire(wire: &str) -> Self {
                match wire {
                    $($wire => Self::$variant,)*
                    other => Self::Unknown(other.to_owned()),
                }
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = ::std::convert::Infallible;

            fn from_str(wire: &str) -> Result<Self, Self::Err> {
                Ok(Self::from_wire(wire))
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserializer.deserialize_str($crate::__private::WireStr::new(
                    stringify!($name),
                    |wire: &str| Ok(Self::from_wire(wire)),
                ))
            }
        }

        $crate::__string_enum!(@common $name { $($variant = $wire,)* });
    };
    (
        $(#[$meta:meta])*
        strict pub enum $name:ident {
            $($(#[$vmeta:meta])* $variant:ident = $wire:literal,)*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
        }

        impl $name {
            /// The wire string.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $wire,)*
                }
            }

            /// The variant for a wire string, if it is one of this enum's.
            pub fn from_wire(wire: &str) -> Option<Self> {
                match wire {
                    $($wire => Some(Self::$variant),)*
                    _ => None,
                }
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                const VALUES: &[&str] = &[$($wire),*];
                deserializer.deserialize_str($crate::__private::WireStr::new(
                    stringify!($name),
                    |wire: &str| Self::from_wire(wire).ok_or(VALUES),
                ))
            }
        }

        $crate::__string_enum!(@common $name { $($variant = $wire,)* });
    };
    (@common $name:ident { $($variant:ident = $wire:literal,)* }) => {
        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }
    };
}

/// The serde visitor of every string enum: one generic type instead of one
/// per enum. Public only for the macro's expansion. `parse` returns the known values when it rejects a string.
pub struct WireStr<T, F> {
    name: &'static str,
    parse: F,
    marker: PhantomData<T>,
}

impl<T, F> WireStr<T, F>
where
    F: FnOnce(&str) -> Result<T, &'static [&'static str]>,
{
    /// A visitor for the enum `name` that reads a string with `parse`.
    pub fn new(name: &'static str, parse: F) -> Self {
        WireStr {
            name,
            parse,
            marker: PhantomData,
        }
    }
}

impl<T, F> Visitor<'_> for WireStr<T, F>
where
    F: FnOnce(&str) -> Result<T, &'static [&'static str]>,
{
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a {} string", self.name)
    }

    fn visit_str<E: Error>(self, wire: &str) -> Result<T, E> {
        (self.parse)(wire).map_err(|expected| E::unknown_variant(wire, expected))
    }
}

#[cfg(test)]
mod tests;
