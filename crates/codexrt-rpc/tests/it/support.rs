//! A scripted server on the far end of a memory pair, and small helpers.

use std::time::Duration;

use bytes::Bytes;
use codexrt_rpc::{Incoming, IncomingReceiver, RpcClient, RpcConfig};
use codexrt_transport::{Closer, Connection, FrameReceiver, FrameSender, memory};
use serde_json::Value;

/// How long a test waits for something that should happen at once before it
/// fails; generous, so that slow CI machines do not fail tests.
pub(crate) const PATIENCE: Duration = Duration::from_secs(10);

/// The server's end of the connection.
pub(crate) struct Server {
    pub(crate) sender: FrameSender,
    pub(crate) receiver: FrameReceiver,
    pub(crate) closer: Closer,
}

impl Server {
    pub(crate) fn new(connection: Connection) -> Self {
        let Connection {
            sender,
            receiver,
            closer,
            ..
        } = connection;
        Server {
            sender,
            receiver,
            closer,
        }
    }

    /// The next frame the client wrote.
    pub(crate) async fn recv(&mut self) -> Bytes {
        match tokio::time::timeout(PATIENCE, self.receiver.recv()).await {
            Ok(Some(Ok(frame))) => frame,
            Ok(other) => panic!("server expected a frame, got {other:?}"),
            Err(_) => panic!("server got no frame"),
        }
    }

    /// The next frame the client wrote, parsed.
    pub(crate) async fn recv_json(&mut self) -> Value {
        let frame = self.recv().await;
        assert!(!frame.contains(&b'\n'), "frame with a newline: {frame:?}");
        serde_json::from_slice(&frame).unwrap()
    }

    pub(crate) async fn send(&self, frame: impl Into<Bytes>) {
        self.sender.send(frame.into()).await.unwrap();
    }

    pub(crate) async fn send_json(&self, message: &Value) {
        self.send(serde_json::to_vec(message).unwrap()).await;
    }
}

/// A client over a memory pair, and the server at the other end.
pub(crate) fn start(config: RpcConfig) -> (RpcClient, IncomingReceiver, Server) {
    let (client_side, server_side) = memory::pair(64);
    let (client, incoming) = RpcClient::start(client_side, config);
    (client, incoming, Server::new(server_side))
}

/// The next incoming item.
pub(crate) async fn next(incoming: &mut IncomingReceiver) -> Incoming {
    match tokio::time::timeout(PATIENCE, incoming.recv()).await {
        Ok(Some(item)) => item,
        Ok(None) => panic!("incoming receiver closed"),
        Err(_) => panic!("no incoming item"),
    }
}

/// Waits until `condition` holds.
pub(crate) async fn eventually(what: &str, condition: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !condition() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Sets public fields of a `#[non_exhaustive]` struct, starting from its
/// default, for whole-value comparisons.
macro_rules! with {
    ($ty:ty { $($field:ident: $value:expr),* $(,)? }) => {{
        #[allow(unused_mut)]
        let mut value = <$ty>::default();
        $(value.$field = $value;)*
        value
    }};
}
pub(crate) use with;

/// A small deterministic PRNG (xorshift64), so that the tests need no `rand`.
pub(crate) struct XorShift(u64);

impl XorShift {
    pub(crate) fn new(seed: u64) -> Self {
        XorShift(seed.max(1))
    }

    pub(crate) fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number in `0..bound`.
    pub(crate) fn below(&mut self, bound: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(bound).unwrap()).unwrap()
    }

    pub(crate) fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}
