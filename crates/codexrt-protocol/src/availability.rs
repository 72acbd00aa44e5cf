//! Which codex versions have which methods: the capability map built from
//! the vendored manifests of every known version.

use semver::Version;

use crate::generated::versions::{
    CLIENT_NOTIFICATIONS, CLIENT_REQUESTS, KNOWN_VERSION_NUMBERS, PINNED_INDEX,
    SERVER_NOTIFICATIONS, SERVER_REQUESTS, TWIN_VERSION_NUMBERS,
};

/// The four kinds of methods of the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MethodKind {
    /// A request the client sends.
    ClientRequest,
    /// A notification the client sends.
    ClientNotification,
    /// A notification the server sends.
    ServerNotification,
    /// A request the server sends to the client.
    ServerRequest,
}

/// Which API surface a connection negotiated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Api {
    /// The default: `initialize` without `capabilities.experimentalApi`.
    Stable,
    /// `initialize` with `capabilities.experimentalApi: true`; a superset of
    /// the stable API.
    Experimental,
}

/// Whether a server of some version has a method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Availability {
    /// The method is there.
    Available,
    /// The method is not there, or, for a version between two known ones,
    /// might not be (see [`method_availability`]).
    Missing,
    /// The version is newer than every known one: nothing can be said.
    NewerThanKnown,
    /// The version is older than every known one: nothing can be said.
    OlderThanKnown,
}

/// One row of a generated table: the method and its stable and experimental
/// presence masks (bit `i` for `KNOWN_VERSIONS[i]`).
pub(crate) struct MethodPresence(pub(crate) &'static str, pub(crate) u32, pub(crate) u32);

impl MethodKind {
    const ALL: [MethodKind; 4] = [
        MethodKind::ClientRequest,
        MethodKind::ClientNotification,
        MethodKind::ServerNotification,
        MethodKind::ServerRequest,
    ];

    fn table(self) -> &'static [MethodPresence] {
        match self {
            MethodKind::ClientRequest => CLIENT_REQUESTS,
            MethodKind::ClientNotification => CLIENT_NOTIFICATIONS,
            MethodKind::ServerNotification => SERVER_NOTIFICATIONS,
            MethodKind::ServerRequest => SERVER_REQUESTS,
        }
    }
}

/// Whether a codex app-server of `version` has `method` of `kind` in `api`.
///
/// - A known version (one of [`KNOWN_VERSIONS`](crate::KNOWN_VERSIONS),
///   compared by precedence, so build metadata is ignored) answers from its
///   manifest: [`Availability::Available`] or [`Availability::Missing`].
/// - A twin (one of [`TWIN_VERSIONS`](crate::TWIN_VERSIONS), a patch release
///   whose schema is byte-identical to a known version's; see [`twin_of`])
///   answers exactly as its partner.
/// - A version between two known ones is [`Availability::Available`] only if
///   both neighbours have the method. When they disagree the method was
///   added or removed somewhere in between and the answer is
///   [`Availability::Missing`]: callers should not rely on it (fail closed);
///   calling it anyway at worst gets an "unknown variant" error back.
/// - Outside the known range the answer is [`Availability::NewerThanKnown`]
///   or [`Availability::OlderThanKnown`] for every method, known or not.
///
/// A method no known version has is [`Availability::Missing`] within the
/// known range.
pub fn method_availability(
    kind: MethodKind,
    method: &str,
    version: &Version,
    api: Api,
) -> Availability {
    let known: Vec<Version> = KNOWN_VERSION_NUMBERS
        .iter()
        .map(|&(major, minor, patch)| Version::new(major, minor, patch))
        .collect();
    let mask = presence(kind, method).map_or(0, |row| match api {
        Api::Stable => row.1,
        Api::Experimental => row.2,
    });
    let has = |index: usize| mask & (1 << index) != 0;
    let answer = |present: bool| {
        if present {
            Availability::Available
        } else {
            Availability::Missing
        }
    };
    if let Some(index) = partner_index(version) {
        return answer(has(index));
    }
    // `known` is sorted oldest first; find the first known version that is
    // not older than `version`.
    let next = known.iter().position(|k| k.cmp_precedence(version).is_ge());
    match next {
        None => Availability::NewerThanKnown,
        Some(i) if known[i].cmp_precedence(version).is_eq() => answer(has(i)),
        Some(0) => Availability::OlderThanKnown,
        Some(i) => answer(has(i - 1) && has(i)),
    }
}

/// The known version whose protocol `version` shares, when `version` is a
/// twin: a patch release listed in [`TWIN_VERSIONS`](crate::TWIN_VERSIONS)
/// because its schema is byte-identical to that version's. Compared by
/// precedence, so build metadata is ignored and a prerelease of a twin is
/// no twin. `None` for every other version, known ones included.
///
/// ```
/// use codexrt_protocol::twin_of;
/// use semver::Version;
///
/// assert_eq!(twin_of(&Version::new(0, 169, 1)), Some(Version::new(0, 169, 0)));
/// assert_eq!(twin_of(&Version::new(0, 169, 2)), None);
/// ```
pub fn twin_of(version: &Version) -> Option<Version> {
    let index = partner_index(version)?;
    KNOWN_VERSION_NUMBERS
        .get(index)
        .map(|&(major, minor, patch)| Version::new(major, minor, patch))
}

/// The index in `KNOWN_VERSIONS` of the partner of `version`, if it is a twin.
fn partner_index(version: &Version) -> Option<usize> {
    TWIN_VERSION_NUMBERS
        .iter()
        .find(|((major, minor, patch), _)| {
            Version::new(*major, *minor, *patch)
                .cmp_precedence(version)
                .is_eq()
        })
        .map(|(_, index)| *index)
}

/// Whether `method` (of any kind) exists only in the experimental API of the
/// pinned version ([`PINNED_VERSION`](crate::PINNED_VERSION)). `false` for
/// methods the pinned version does not have at all.
pub fn is_experimental(method: &str) -> bool {
    let bit = 1 << PINNED_INDEX;
    MethodKind::ALL
        .iter()
        .filter_map(|kind| presence(*kind, method))
        .any(|row| row.1 & bit == 0 && row.2 & bit != 0)
}

/// Every method of `kind` that [`method_availability`] calls
/// [`Availability::Available`] for `version` and `api`, sorted; empty
/// outside the known versions.
pub fn available_methods(kind: MethodKind, version: &Version, api: Api) -> Vec<&'static str> {
    kind.table()
        .iter()
        .map(|row| row.0)
        .filter(|method| method_availability(kind, method, version, api) == Availability::Available)
        .collect()
}

fn presence(kind: MethodKind, method: &str) -> Option<&'static MethodPresence> {
    let table = kind.table();
    table
        .binary_search_by(|row| row.0.cmp(method))
        .ok()
        .and_then(|i| table.get(i))
}

#[cfg(test)]
mod tests;
