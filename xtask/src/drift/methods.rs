//! The methods of two manifests compared: which came and went per kind,
//! which moved between the stable and the experimental API, and whose
//! params or response changed.

use std::collections::BTreeMap;

use super::change::Change;
use crate::codegen::{Kind, Manifest, Method, Presence};

pub(super) fn compare(old: &Manifest, new: &Manifest, out: &mut Vec<Change>) {
    for kind in Kind::ALL {
        let by_name = |manifest: &'_ Manifest| -> BTreeMap<String, Method> {
            manifest
                .methods(kind)
                .iter()
                .map(|m| (m.method.clone(), m.clone()))
                .collect()
        };
        let (before, after) = (by_name(old), by_name(new));
        for (name, m) in &after {
            if !before.contains_key(name) {
                out.push(Change::MethodAdded {
                    kind,
                    method: name.clone(),
                    experimental: m.experimental,
                });
            }
        }
        for (name, m) in &before {
            let Some(n) = after.get(name) else {
                out.push(Change::MethodRemoved {
                    kind,
                    method: name.clone(),
                    experimental: m.experimental,
                });
                continue;
            };
            let method = name.clone();
            match (m.experimental, n.experimental) {
                (true, false) => out.push(Change::MethodNowStable {
                    kind,
                    method: method.clone(),
                }),
                (false, true) => out.push(Change::MethodNowExperimental {
                    kind,
                    method: method.clone(),
                }),
                _ => {}
            }
            let (from, to) = (params_text(m), params_text(n));
            if from != to {
                out.push(Change::ParamsChanged {
                    kind,
                    method: method.clone(),
                    breaking: !params_relaxed(m, n),
                    from,
                    to,
                });
            }
            if m.response != n.response {
                let text = |r: &Option<String>| r.clone().unwrap_or_else(|| "none".to_owned());
                out.push(Change::ResponseChanged {
                    kind,
                    method,
                    from: text(&m.response),
                    to: text(&n.response),
                });
            }
        }
    }
}

/// `ThreadStartParams`, `FooParams (optional)` or `none`.
fn params_text(m: &Method) -> String {
    match (&m.params, m.presence) {
        (Some(params), Presence::Optional) => format!("{params} (optional)"),
        (Some(params), _) => params.clone(),
        (None, _) => "none".to_owned(),
    }
}

/// Whether the new params accept everything an older client sends: the same
/// type, now optional, or optional params where there were none.
fn params_relaxed(old: &Method, new: &Method) -> bool {
    new.presence == Presence::Optional && (old.params.is_none() || old.params == new.params)
}
