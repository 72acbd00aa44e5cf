//! [`ModelRequest`]: one HTTP request the scripted model server received,
//! with helpers to read what codex put in a Responses-API body.

use serde_json::Value;

/// One HTTP request as the scripted model server received it.
///
/// For model requests (`POST /v1/responses`) `body` is the parsed JSON:
/// `model`, `instructions`, `input` (the whole conversation as items),
/// `tools`, and so on. For other requests it is the parsed JSON when the
/// body is JSON, the text when it is not, and `null` when it is empty.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ModelRequest {
    /// The HTTP method (`POST`, `GET`, ...).
    pub method: String,
    /// The path of the request URI, without the query (`/v1/responses`).
    pub path: String,
    /// The query of the request URI, if any, without the `?`.
    pub query: Option<String>,
    /// Every header, in the order received, names in lower case; values
    /// that are not UTF-8 are converted lossily.
    pub headers: Vec<(String, String)>,
    /// The body: see the type's documentation.
    pub body: Value,
}

/// A `function_call_output` item from a request's `input`: what codex
/// reports back to the model after running a tool.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct FunctionCallOutput {
    /// The `call_id` of the call this answers.
    pub call_id: String,
    /// The output as text: the `output` member when it is a string, or the
    /// `text` of its content items joined with newlines when it is a list.
    pub text: String,
    /// The whole item, as sent.
    pub item: Value,
}

impl ModelRequest {
    /// The value of the first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(header, _)| header.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The items of the body's `input` list; empty when there is none.
    pub fn input(&self) -> &[Value] {
        self.body
            .get("input")
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice)
    }

    /// The `function_call_output` items of `input`, in order. After a
    /// declined command, for example, the last one's text says the user
    /// rejected it.
    pub fn function_call_outputs(&self) -> Vec<FunctionCallOutput> {
        self.input()
            .iter()
            .filter(|item| item_type(item) == Some("function_call_output"))
            .map(|item| FunctionCallOutput {
                call_id: item
                    .get("call_id")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                text: output_text(item.get("output")),
                item: item.clone(),
            })
            .collect()
    }

    /// The texts of the user's messages in `input` (each `input_text` part
    /// of each `message` item with role `user`), in order. codex adds
    /// messages of its own with role `user` (environment context, for
    /// example), so look for the text you sent rather than at a position.
    pub fn user_texts(&self) -> Vec<&str> {
        self.input()
            .iter()
            .filter(|item| {
                item_type(item) == Some("message")
                    && item.get("role").and_then(Value::as_str) == Some("user")
            })
            .filter_map(|item| item.get("content").and_then(Value::as_array))
            .flatten()
            .filter(|part| item_type(part) == Some("input_text"))
            .filter_map(|part| part.get("text").and_then(Value::as_str))
            .collect()
    }

    /// The names of the tools offered in `tools` (items without a `name`,
    /// such as `web_search`, are listed by their `type`).
    pub fn tool_names(&self) -> Vec<&str> {
        self.body
            .get("tools")
            .and_then(Value::as_array)
            .map(|tools| {
                tools
                    .iter()
                    .filter_map(|tool| {
                        tool.get("name")
                            .and_then(Value::as_str)
                            .or_else(|| item_type(tool))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn item_type(item: &Value) -> Option<&str> {
    item.get("type").and_then(Value::as_str)
}

fn output_text(output: Option<&Value>) -> String {
    match output {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|part| part.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}
