//! The codex versions this workspace vendors schemas for and tests against.

/// Every codex version whose protocol schema is vendored under
/// `crates/codexrt-protocol/schema/<version>/`; `cargo xtask schema` without
/// arguments regenerates exactly these.
pub(crate) const SUPPORTED_CODEX_VERSIONS: [&str; 4] = ["0.150.0", "0.160.1", "0.169.0", "0.171.0"];

/// The version demos and the default compatibility run use.
pub(crate) const PINNED_CODEX_VERSION: &str = "0.171.0";

/// Patch releases accepted as twins of a supported version: `(twin,
/// partner)`, where codex `twin` generates a schema byte-identical to the one
/// vendored for `partner`. A twin has no folder of its own; the capability
/// map answers it as its partner. `cargo xtask twin` proves a pair before
/// adding it, and `cargo xtask schema --check` proves every pair again.
pub(crate) const TWIN_CODEX_VERSIONS: [(&str, &str); 1] = [("0.169.1", "0.169.0")];

// A pinned version without a vendored schema would have no method table, so
// the build refuses it rather than a later command failing at run time.
const _: () = assert!(
    is_supported(PINNED_CODEX_VERSION),
    "PINNED_CODEX_VERSION must be one of SUPPORTED_CODEX_VERSIONS"
);

// A twin stands for its partner's schema, so the partner must be vendored;
// a twin that were supported itself would have two answers in the map.
const _: () = {
    let mut i = 0;
    while i < TWIN_CODEX_VERSIONS.len() {
        let (twin, partner) = TWIN_CODEX_VERSIONS[i];
        assert!(
            is_supported(partner),
            "the partner of every TWIN_CODEX_VERSIONS entry must be one of SUPPORTED_CODEX_VERSIONS"
        );
        assert!(
            !is_supported(twin),
            "a twin in TWIN_CODEX_VERSIONS must not be one of SUPPORTED_CODEX_VERSIONS"
        );
        let mut j = i + 1;
        while j < TWIN_CODEX_VERSIONS.len() {
            assert!(
                !bytes_equal(twin.as_bytes(), TWIN_CODEX_VERSIONS[j].0.as_bytes()),
                "a twin is listed twice in TWIN_CODEX_VERSIONS"
            );
            j += 1;
        }
        i += 1;
    }
};

const fn is_supported(version: &str) -> bool {
    let mut i = 0;
    while i < SUPPORTED_CODEX_VERSIONS.len() {
        if bytes_equal(SUPPORTED_CODEX_VERSIONS[i].as_bytes(), version.as_bytes()) {
            return true;
        }
        i += 1;
    }
    false
}

// `str == str` is not usable in a const context yet.
const fn bytes_equal(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Versions become folder names and npm package specs, so only plain semver
/// (`1.2.3` or `1.2.3-pre.1`) is accepted: no paths, ranges or tags.
pub(crate) fn check_version_syntax(version: &str) -> Result<(), String> {
    let (core, pre) = match version.split_once('-') {
        Some((core, pre)) => (core, Some(pre)),
        None => (version, None),
    };
    let core_ok = core.split('.').count() == 3
        && core
            .split('.')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()));
    let pre_ok = pre.is_none_or(|pre| {
        !pre.is_empty()
            && pre
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
    });
    if core_ok && pre_ok {
        Ok(())
    } else {
        Err(format!(
            "`{version}` is not a codex version (expected something like `0.169.0`)"
        ))
    }
}

#[cfg(test)]
mod tests;
