//! Peer text in errors and logs is bounded and redacted: a 100 KB error
//! message with a JWT, a malformed frame and a server request holding keys.

use std::fmt;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use codexrt_core::{CoreError, Runtime};
use codexrt_protocol::types::AccountLogoutParams;
use tracing::field::{Field, Visit};
use tracing::span;

use crate::support::config;

const JWT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJlc2lnbmF0dXJl";
const KEY: &str = "sk-proj-abcdefgh12345678";

/// Every event logged on this thread, every field written out.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<String>>>);

struct Fields(String);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.push_str(&format!(" {}={value:?}", field.name()));
    }
}

impl tracing::Subscriber for Captured {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &span::Attributes<'_>) -> span::Id {
        span::Id::from_u64(1)
    }
    fn record(&self, _: &span::Id, _: &span::Record<'_>) {}
    fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut fields = Fields(event.metadata().level().to_string());
        event.record(&mut fields);
        self.0.lock().unwrap().push(fields.0);
    }
    fn enter(&self, _: &span::Id) {}
    fn exit(&self, _: &span::Id) {}
}

/// A current-thread test, so that the runtime's tasks log to the
/// subscriber of this thread.
#[tokio::test]
async fn secrets_from_the_peer_reach_no_error_and_no_log() {
    let captured = Captured::default();
    let _guard = tracing::subscriber::set_default(captured.clone());
    let (ours, theirs) = codexrt_transport::memory::pair(16);
    let peer = tokio::spawn(async move {
        let mut receiver = theirs.receiver;
        let send = |text: String| theirs.sender.send(Bytes::from(text));
        receiver.recv().await.unwrap().unwrap();
        send(r#"{"id":1,"result":{"userAgent":"fake/0.169.0 (Linux; x86_64)","codexHome":"/tmp/h","platformFamily":"unix","platformOs":"linux"}}"#.to_owned()).await.unwrap();
        receiver.recv().await.unwrap().unwrap(); // initialized
        receiver.recv().await.unwrap().unwrap(); // account/logout, id 2
        // A frame that is not JSON, holding a key.
        send(format!(r#"{{"method":"x","params":{{"k":"{KEY}"}}"#))
            .await
            .unwrap();
        // A server request whose params quote a key where a number belongs.
        send(format!(
            r#"{{"id":0,"method":"item/commandExecution/requestApproval","params":{{"itemId":"i","startedAtMs":"{KEY}","threadId":"t","turnId":"u"}}}}"#
        ))
        .await
        .unwrap();
        let message = format!("denied: {JWT} {}", "y".repeat(100_000));
        let answer = serde_json::json!({"id": 2, "error": {"code": -32000, "message": message, "data": {"auth": format!("Bearer {KEY}")}}});
        send(answer.to_string()).await.unwrap();
        // The safe answer to the request.
        receiver.recv().await.unwrap().unwrap();
        (receiver, theirs.sender)
    });
    let runtime = Runtime::connect(ours, config()).await.unwrap();
    let err = runtime.call(AccountLogoutParams).await.unwrap_err();
    let _peer = peer.await.unwrap();
    runtime.shutdown().await.unwrap();

    let display = err.to_string();
    let debug = format!("{err:?}");
    for shown in [&display, &debug] {
        assert!(!shown.contains("eyJ"), "{}", &shown[..200]);
        assert!(!shown.contains("abcdefgh"), "{}", &shown[..200]);
        assert!(shown.len() < 4096 + 400, "{} bytes", shown.len());
    }
    assert!(
        display.ends_with("… 95923 bytes more"),
        "{}",
        &display[display.len() - 40..]
    );
    match err {
        CoreError::Peer { message, data, .. } => {
            assert!(message.starts_with("denied: [redacted] yyy"), "{message}");
            assert_eq!(
                data,
                Some(serde_json::Value::String(
                    r#"{"auth":"Bearer [redacted]"}"#.to_owned()
                ))
            );
        }
        other => panic!("{other:?}"),
    }

    let logs = captured.0.lock().unwrap().join("\n");
    assert!(!logs.contains("abcdefgh"), "{logs}");
    assert!(!logs.contains("eyJ"), "{logs}");
    // The malformed frame is named by its length and hash.
    assert!(logs.contains("frame=55 bytes #"), "{logs}");
    assert!(logs.contains("len=55"), "{logs}");
}
