//! Reading the tagged unions in one pass, with the captured read as the
//! reference it must match.
//!
//! The captured read (the parent module) takes a union's text whole to find
//! its tag, then reads the variant's members from that text: two passes
//! over every union, and more for unions inside unions. Read in one pass, a
//! union's generated impl takes the members of all its variants into one
//! struct as they come (codex writes the tag last), then builds the variant
//! the tag names. A member whose type differs between variants is kept as
//! its text, and read once the tag is known.
//!
//! One pass cannot give everything the captured read gives: the `Unknown`
//! of a tag it does not know needs the whole JSON, and a member that does
//! not fit the type it is read as has been partly read by then. So the
//! captured read stays the reference. A union read in one pass either
//! builds exactly the value the captured read would build, or it *falls
//! back*: it fails, and marks the run as fallen back. [`in_one_pass`] then
//! runs the whole decode again, captured. The mark, not the error, decides,
//! because what reads a union may swallow its error (a lenient member, an
//! untagged union trying its variants) and go on with another value.
//!
//! One pass is used only inside [`in_one_pass`], which the decoding of
//! messages runs (`ServerNotification::decode`, `ServerRequest::decode`
//! and their text forms); anything else, a user's `serde_json::from_str`
//! among them, reads captured as before.

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::value::MapAccessDeserializer;
use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, Visitor};

use super::{Raw, Repr, nested};

thread_local! {
    /// Whether the unions decoded on this thread now are read in one pass.
    static ONE_PASS: Cell<bool> = const { Cell::new(false) };
    /// Whether a union read in one pass fell back since the run began.
    static FELL_BACK: Cell<bool> = const { Cell::new(false) };
}

/// Runs `decode` with the unions read in one pass; if one of them fell
/// back, runs `decode` again with every union captured, and returns that.
/// Either way the result is what the captured read gives.
///
/// # Errors
/// Those of `decode`, run captured.
pub fn in_one_pass<T, E>(mut decode: impl FnMut() -> Result<T, E>) -> Result<T, E> {
    match attempt(&mut decode) {
        (Ok(value), false) => Ok(value),
        _ => {
            let _captured = Mode::enter(false);
            decode()
        }
    }
}

/// One run of `decode` with the unions read in one pass, and whether one
/// of them fell back (then the result is not to be used). For tests that
/// compare the two reads.
pub fn attempt<T>(decode: impl FnOnce() -> T) -> (T, bool) {
    let mode = Mode::enter(true);
    let result = decode();
    let fell_back = FELL_BACK.with(Cell::get);
    drop(mode);
    (result, fell_back)
}

/// Whether a generated impl reads its union in one pass now.
pub fn one_pass() -> bool {
    ONE_PASS.with(Cell::get)
}

/// Marks the run as fallen back, and gives the error the generated impl
/// returns.
pub fn fall_back<E: de::Error>() -> E {
    FELL_BACK.with(|fell_back| fell_back.set(true));
    E::custom("a tagged union must be read again, captured")
}

/// Reads `T`, the struct of every member of a union's variants, from an
/// object only: serde's derive would also take an array for the members
/// in order, which the captured read calls `Unknown`. Counted as a nested
/// payload, as the captured read counts the variant it reads; any failure
/// falls back.
///
/// # Errors
/// Any failure to read `T`, the run marked as fallen back.
pub fn members<'de, T, D>(deserializer: D) -> Result<T, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    counted(|| deserializer.deserialize_map(MapOnly(PhantomData)))
}

/// Reads `T`, the enum of an externally tagged union's known variants, as
/// [`members`] does, but from whatever serde's derive takes for it.
///
/// # Errors
/// Any failure to read `T`, the run marked as fallen back.
pub fn known<'de, T, D>(deserializer: D) -> Result<T, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    counted(|| T::deserialize(deserializer))
}

/// `read` counted as a nested payload, as the captured read counts it;
/// any failure (too deep, among others) falls back.
fn counted<T, E: de::Error>(read: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
    nested(read).inspect_err(|_| FELL_BACK.with(|fell_back| fell_back.set(true)))
}

/// Sets the mode of this thread, and puts back the one before when
/// dropped.
struct Mode {
    one_pass: bool,
    fell_back: bool,
}

impl Mode {
    fn enter(one_pass: bool) -> Mode {
        Mode {
            one_pass: ONE_PASS.with(|mode| mode.replace(one_pass)),
            fell_back: FELL_BACK.with(|fell_back| fell_back.replace(false)),
        }
    }
}

impl Drop for Mode {
    fn drop(&mut self) {
        ONE_PASS.with(|mode| mode.set(self.one_pass));
        FELL_BACK.with(|fell_back| fell_back.set(self.fell_back));
    }
}

struct MapOnly<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for MapOnly<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map))
    }
}

/// A union's tag read in one pass: a string, its escapes resolved, as the
/// captured read compares it.
#[derive(Debug)]
pub struct Tag<'a>(Cow<'a, str>);

impl Tag<'_> {
    /// Its index in `known`.
    pub fn of(&self, known: &[&str]) -> Option<usize> {
        known.iter().position(|known| *known == self.0)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Tag<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(TagText).map(Tag)
    }
}

struct TagText;

impl<'de> Visitor<'de> for TagText {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

/// A member kept as its text, to be read once the tag says as what.
impl<'de: 'a, 'a> Deserialize<'de> for Raw<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        super::capture(deserializer)
    }
}

impl Raw<'_> {
    /// This value read as a lenient member reads it: `null` is `None`, and
    /// so is a value that does not decode as `T`.
    ///
    /// # Errors
    /// Only for text that is not one JSON value, which serde_json never
    /// hands over.
    pub fn lenient<T: DeserializeOwned>(&self) -> Result<Option<T>, serde_json::Error> {
        match &self.0 {
            Repr::Text(text) => nested(|| {
                let mut deserializer = serde_json::Deserializer::from_str(text);
                let value = crate::lenient::lenient(&mut deserializer)?;
                deserializer.end()?;
                Ok(value)
            }),
            Repr::Value(value) => nested(|| crate::lenient::lenient(value)),
        }
    }
}
