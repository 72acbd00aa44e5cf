//! Turning wire names (camelCase, snake_case, kebab-case, method paths) into
//! Rust identifiers.

/// Rust keywords a wire name could collide with (strict and reserved).
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "static", "struct", "super", "trait", "true", "try", "type", "typeof",
    "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Splits a name into words at separators (`/ - _ . $` and spaces) and at
/// case changes: `httpStatusCode` → http, Status, Code; `HTTPServer` → HTTP,
/// Server; `AGENTS_MD` → AGENTS, MD.
pub(crate) fn words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    for part in name.split(|c: char| !c.is_ascii_alphanumeric()) {
        let chars: Vec<char> = part.chars().collect();
        let mut current = String::new();
        for (i, &c) in chars.iter().enumerate() {
            let boundary = i > 0 && {
                let prev = chars[i - 1];
                let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
                (c.is_ascii_uppercase() && (prev.is_ascii_lowercase() || prev.is_ascii_digit()))
                    || (c.is_ascii_uppercase() && prev.is_ascii_uppercase() && next_lower)
            };
            if boundary && !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            current.push(c);
        }
        if !current.is_empty() {
            words.push(current);
        }
    }
    // A lone capital starts a compound like `OAuth` (`gatewayOAuth`), not a
    // word of its own.
    let mut merged: Vec<String> = Vec::with_capacity(words.len());
    let mut pending: Option<String> = None;
    for word in words {
        match pending.take() {
            Some(capital) if word.starts_with(|c: char| c.is_ascii_uppercase()) => {
                merged.push(capital + &word);
                continue;
            }
            Some(capital) => merged.push(capital),
            None => {}
        }
        if word.len() == 1 && word.starts_with(|c: char| c.is_ascii_uppercase()) {
            pending = Some(word);
        } else {
            merged.push(word);
        }
    }
    merged.extend(pending);
    merged
}

/// `threadId` → `thread_id`; keywords get a trailing underscore (`type_`).
pub(crate) fn field_name(wire: &str) -> String {
    let name = words(wire)
        .iter()
        .map(|w| w.to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join("_");
    let name = if name.starts_with(|c: char| c.is_ascii_digit()) {
        format!("n{name}")
    } else {
        name
    };
    if KEYWORDS.contains(&name.as_str()) {
        format!("{name}_")
    } else {
        name
    }
}

/// `on-request` → `OnRequest`, `input_text` → `InputText`, `AGENTS_MD` →
/// `AgentsMd`, `thread/start` → `ThreadStart`.
pub(crate) fn pascal(wire: &str) -> String {
    let mut out = String::new();
    for word in words(wire) {
        let lower_rest = word.chars().all(|c| !c.is_ascii_lowercase());
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            for c in chars {
                out.push(if lower_rest {
                    c.to_ascii_lowercase()
                } else {
                    c
                });
            }
        }
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) || out.is_empty() {
        format!("V{out}")
    } else {
        out
    }
}

/// `item/agentMessage/delta` → `ITEM_AGENT_MESSAGE_DELTA`.
pub(crate) fn constant(wire: &str) -> String {
    words(wire)
        .iter()
        .map(|w| w.to_ascii_uppercase())
        .collect::<Vec<_>>()
        .join("_")
}

/// Splits a PascalCase type name into its words, keeping acronyms whole.
pub(crate) fn type_words(name: &str) -> Vec<String> {
    words(name)
}
