//! Outbound envelopes: calls, notifications and replies serialized into
//! single-line frames.

use bytes::Bytes;
use serde::Serialize;

use crate::{ErrorObject, JsonRpcField, RequestId};

/// Serializes outbound messages in the configured envelope style.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Encoder {
    jsonrpc: JsonRpcField,
}

impl Encoder {
    pub(crate) fn new(jsonrpc: JsonRpcField) -> Self {
        Encoder { jsonrpc }
    }

    /// `{"id":…,"method":…,"params":…}`.
    pub(crate) fn request(
        self,
        id: &RequestId,
        method: &str,
        params: &impl Serialize,
    ) -> Result<Bytes, serde_json::Error> {
        let mut frame = self.open();
        frame.extend_from_slice(br#""id":"#);
        serde_json::to_writer(&mut frame, id)?;
        frame.extend_from_slice(br#","method":"#);
        serde_json::to_writer(&mut frame, method)?;
        write_params(&mut frame, params)?;
        Ok(close(frame))
    }

    /// `{"method":…,"params":…}`.
    pub(crate) fn notification(
        self,
        method: &str,
        params: &impl Serialize,
    ) -> Result<Bytes, serde_json::Error> {
        let mut frame = self.open();
        frame.extend_from_slice(br#""method":"#);
        serde_json::to_writer(&mut frame, method)?;
        write_params(&mut frame, params)?;
        Ok(close(frame))
    }

    /// `{"id":…,"result":…}`. A result of `null` is written as such: unlike
    /// params, a result is required.
    pub(crate) fn result(
        self,
        id: &RequestId,
        result: &impl Serialize,
    ) -> Result<Bytes, serde_json::Error> {
        let mut frame = self.open();
        frame.extend_from_slice(br#""id":"#);
        serde_json::to_writer(&mut frame, id)?;
        frame.extend_from_slice(br#","result":"#);
        serde_json::to_writer(&mut frame, result)?;
        Ok(close(frame))
    }

    /// `{"id":…,"error":{"code":…,"message":…,"data":…}}`.
    pub(crate) fn error(self, id: &RequestId, error: &ErrorObject) -> Bytes {
        let mut frame = self.open();
        frame.extend_from_slice(br#""id":"#);
        let written = serde_json::to_writer(&mut frame, id).and_then(|()| {
            frame.extend_from_slice(br#","error":"#);
            serde_json::to_writer(&mut frame, error)
        });
        #[expect(
            clippy::expect_used,
            reason = "ids and error objects hold only integers, strings and raw JSON, \
                      which serde_json always writes into a Vec"
        )]
        written.expect("an error reply always serializes");
        close(frame)
    }

    fn open(self) -> Vec<u8> {
        let mut frame = Vec::with_capacity(128);
        frame.push(b'{');
        if self.jsonrpc == JsonRpcField::Include {
            frame.extend_from_slice(br#""jsonrpc":"2.0","#);
        }
        frame
    }
}

/// Appends `,"params":…` unless the params serialize to `null`: `()` and
/// `None` mean "no params", and JSON-RPC lets the member be omitted.
fn write_params(frame: &mut Vec<u8>, params: &impl Serialize) -> Result<(), serde_json::Error> {
    let start = frame.len();
    frame.extend_from_slice(br#","params":"#);
    let value_start = frame.len();
    serde_json::to_writer(&mut *frame, params)?;
    if frame.get(value_start..) == Some(b"null") {
        frame.truncate(start);
    }
    Ok(())
}

fn close(mut frame: Vec<u8>) -> Bytes {
    frame.push(b'}');
    Bytes::from(single_line(frame))
}

/// Replaces every raw `\n` and `\r` byte with a space, so that the frame is
/// one line on line-framed media.
///
/// This never changes the meaning of the JSON: serde_json's compact output
/// escapes control characters inside strings, so raw CR/LF bytes can only come
/// from a caller's `RawValue`, which keeps its text verbatim. A `RawValue` is
/// always valid JSON, where a raw CR or LF can only be whitespace between
/// tokens, and a space is whitespace too.
pub(crate) fn single_line(mut frame: Vec<u8>) -> Vec<u8> {
    if let Some(first) = memchr::memchr2(b'\n', b'\r', &frame) {
        for byte in frame.iter_mut().skip(first) {
            if matches!(*byte, b'\n' | b'\r') {
                *byte = b' ';
            }
        }
    }
    frame
}

#[cfg(test)]
mod tests;
