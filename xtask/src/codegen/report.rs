//! `cargo xtask codegen --report`: how much of each supported version's
//! protocol is typed, the response overrides, and which methods came and
//! went between the supported versions.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::input::{Kind, VersionInput};
use super::lower::Lowered;
use super::render_api::{MethodInfo, typed};
use crate::schema::RESPONSE_OVERRIDES;

pub(crate) fn render(
    versions: &[VersionInput],
    pinned: &VersionInput,
    twins: &[(&str, &str)],
    infos: &[MethodInfo],
    lowered: &Lowered,
) -> String {
    let mut out = String::from(
        "coverage per supported version, typed = params and response types generated \
         (from the pinned version's schema):\n",
    );
    for version in versions {
        let pinned_mark = if version.version == pinned.version {
            " (pinned)"
        } else {
            ""
        };
        let _ = writeln!(out, "  codex {}{pinned_mark}", version.version);
        for kind in Kind::ALL {
            let all = version.manifest.methods(kind);
            let stable: Vec<_> = all.iter().filter(|m| !m.experimental).collect();
            let typed_stable = stable
                .iter()
                .filter(|m| typed(infos, lowered, m, kind))
                .count();
            let typed_all = all
                .iter()
                .filter(|m| typed(infos, lowered, m, kind))
                .count();
            let _ = write!(
                out,
                "    {}: {typed_stable}/{}",
                kind.plural(),
                stable.len()
            );
            if kind == Kind::ClientRequest {
                out.push_str(" typed");
            }
            if all.len() != stable.len() {
                let _ = write!(out, " ({typed_all}/{} with experimental)", all.len());
            }
            out.push('\n');
        }
    }
    let _ = writeln!(out, "  types: {} generated", lowered.items.len());
    out.push_str(
        "\npatch releases answered as their twin, schema byte-identical \
         (TWIN_CODEX_VERSIONS in xtask/src/versions.rs):\n",
    );
    if twins.is_empty() {
        out.push_str("  none\n");
    }
    for (twin, partner) in twins {
        let _ = writeln!(out, "  codex {twin} = codex {partner}");
    }
    out.push_str(
        "\nresponse types the schema does not link to their method \
         (RESPONSE_OVERRIDES in xtask/src/schema/manifest.rs):\n",
    );
    for (method, response) in RESPONSE_OVERRIDES {
        let _ = writeln!(out, "  {method} -> {response}");
    }
    out.push_str("\nmethods added (+) and removed (-) between supported versions:\n");
    for pair in versions.windows(2) {
        let (old, new) = (&pair[0], &pair[1]);
        let _ = writeln!(out, "  {} -> {}", old.version, new.version);
        for kind in Kind::ALL {
            fn set(v: &VersionInput, kind: Kind, experimental: bool) -> BTreeSet<&str> {
                v.manifest
                    .methods(kind)
                    .iter()
                    .filter(|m| experimental || !m.experimental)
                    .map(|m| m.method.as_str())
                    .collect()
            }
            let (stable_before, stable_after) = (set(old, kind, false), set(new, kind, false));
            let (all_before, all_after) = (set(old, kind, true), set(new, kind, true));
            let stable_added: BTreeSet<&str> = &stable_after - &stable_before;
            let stable_removed: BTreeSet<&str> = &stable_before - &stable_after;
            // What the experimental API adds on top of the stable changes.
            let experimental_added = &(&all_after - &all_before) - &stable_added;
            let experimental_removed = &(&all_before - &all_after) - &stable_removed;
            for (label, added, removed) in [
                ("", stable_added, stable_removed),
                (
                    ", experimental API",
                    experimental_added,
                    experimental_removed,
                ),
            ] {
                if added.is_empty() && removed.is_empty() {
                    continue;
                }
                let _ = write!(out, "    {}{label}:", kind.plural());
                for m in added {
                    let _ = write!(out, " +{m}");
                }
                for m in removed {
                    let _ = write!(out, " -{m}");
                }
                out.push('\n');
            }
        }
    }
    out
}
