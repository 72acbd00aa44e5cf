//! Property test: server requests are answered exactly once over random
//! interleavings of the user's answer, a dropped handle, the deadline,
//! `serverRequest/resolved` and shutdown. The test plays the server on
//! the far end of a memory pair and compares every reply on the wire with
//! a model of what the crate docs promise: one reply per request, the
//! user's if the user answered first, the safe answer (`decline`) at the
//! deadline, on a drop and at shutdown, none after `resolved`; never an
//! approval the user did not give.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use bytes::Bytes;
use codexrt_core::{
    CoreError, PendingServerRequest, Runtime, ServerRequestHandle, ServerRequestReceiver, Settled,
};
use codexrt_protocol::types::{
    AccountLogoutParams, CommandExecutionApprovalDecision, CommandExecutionRequestApprovalParams,
    CommandExecutionRequestApprovalResponse,
};
use codexrt_rpc::RequestId;
use codexrt_testkit::fake::Handshake;
use codexrt_transport::{Connection, FrameReceiver, FrameSender, memory};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use serde_json::{Value, json};

use crate::support::config;

const COMMAND_APPROVAL: &str = "item/commandExecution/requestApproval";

/// Requests per case: ids 0 to `REQUESTS - 1`, each sent at most once.
const REQUESTS: u64 = 6;
/// The server-request deadline; the test's clock is paused, so it passes
/// only when a case waits for it.
const DEADLINE: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy)]
enum Op {
    /// The server sends its next request.
    Send,
    /// The server sends `serverRequest/resolved` for this id (sent or not).
    Resolve(u64),
    /// The user answers this request, if it holds its handle: accept, or
    /// decline.
    Answer(u64, bool),
    /// The user drops this request's handle, if it holds it.
    Drop(u64),
    /// Time passes beyond the deadline of every request received so far.
    Deadline,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => Just(Op::Send),
        1 => (0..REQUESTS).prop_map(Op::Resolve),
        2 => (0..REQUESTS, any::<bool>()).prop_map(|(id, accept)| Op::Answer(id, accept)),
        1 => (0..REQUESTS).prop_map(Op::Drop),
        1 => Just(Op::Deadline),
    ]
}

/// Where a request stands in the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Waiting,
    /// Answered with this decision: `accept` by the user only.
    Answered(&'static str),
    /// Settled by the runtime; the reply it sent, if any.
    Settled(Settled, Option<&'static str>),
}

type Handle = ServerRequestHandle<CommandExecutionRequestApprovalParams>;

/// The server's end: what it reads is kept, replies by id.
struct Peer {
    sender: FrameSender,
    receiver: FrameReceiver,
    replies: BTreeMap<u64, Vec<Value>>,
}

impl Peer {
    async fn send(&self, message: Value) {
        let frame = Bytes::from(serde_json::to_vec(&message).unwrap());
        self.sender.send(frame).await.unwrap();
    }

    /// Reads the client's frames, keeping replies, until a request of
    /// `method` (returned) or, without one, the end of the connection.
    async fn read_until(&mut self, method: Option<&str>) -> Option<Value> {
        while let Some(frame) = self.receiver.recv().await {
            let message: Value = serde_json::from_slice(&frame.unwrap()).unwrap();
            match message.get("method").and_then(Value::as_str) {
                None => {
                    let mut reply = message.clone();
                    let id = reply["id"].as_u64().unwrap();
                    reply.as_object_mut().unwrap().remove("id");
                    self.replies.entry(id).or_default().push(reply);
                }
                Some(got) if Some(got) == method => return Some(message),
                Some(_) => {}
            }
        }
        None
    }

    /// Answers the client's next `method` call with `result`.
    async fn answer(&mut self, method: &str, result: Value) {
        let request = self.read_until(Some(method)).await.unwrap();
        self.send(json!({"id": request["id"], "result": result}))
            .await;
    }
}

async fn connect() -> (Runtime, ServerRequestReceiver, Peer) {
    let (client, server) = memory::pair(64);
    let Connection {
        sender, receiver, ..
    } = server;
    let mut peer = Peer {
        sender,
        receiver,
        replies: BTreeMap::new(),
    };
    let config = config().server_request_deadline(DEADLINE);
    let result = Handshake::new().initialize_result();
    let (runtime, ()) = tokio::join!(
        Runtime::connect(client, config),
        peer.answer("initialize", result)
    );
    let runtime = runtime.unwrap();
    let requests = runtime.server_requests().unwrap();
    (runtime, requests, peer)
}

/// Everything the server sent so far has been routed once a call sent
/// after it is answered: the router reads in order.
async fn barrier(runtime: &Runtime, peer: &mut Peer) {
    let (called, ()) = tokio::join!(
        runtime.call(AccountLogoutParams),
        peer.answer("account/logout", json!({}))
    );
    called.unwrap();
}

fn decision(accept: bool) -> &'static str {
    if accept { "accept" } else { "decline" }
}

/// What the handle's answer returned, in the model's terms.
fn answered(result: Result<(), CoreError>) -> Result<(), Settled> {
    match result {
        Ok(()) => Ok(()),
        Err(CoreError::ServerRequestSettled { settled, .. }) => Err(settled),
        Err(other) => panic!("{other:?}"),
    }
}

fn accept() -> CommandExecutionRequestApprovalResponse {
    CommandExecutionRequestApprovalResponse {
        decision: CommandExecutionApprovalDecision::Accept,
    }
}

/// One case: the runtime, the server's end, and the model.
struct Run {
    runtime: Runtime,
    requests: ServerRequestReceiver,
    peer: Peer,
    /// Each request the server sent, by id.
    model: BTreeMap<u64, State>,
    /// The handles the user holds.
    handles: HashMap<u64, Handle>,
    /// The server's steps not sent yet.
    unsent: Vec<Op>,
}

impl Run {
    /// Sends the server's steps, waits until they are routed, and takes the
    /// handles of the requests among them (queued in order).
    async fn flush(&mut self) {
        let steps = std::mem::take(&mut self.unsent);
        for step in &steps {
            match *step {
                Op::Send => {
                    let id = self.model.len() as u64;
                    let params =
                        json!({"itemId": "i", "startedAtMs": 0, "threadId": "t", "turnId": "u"});
                    self.model.insert(id, State::Waiting);
                    self.peer
                        .send(json!({"id": id, "method": COMMAND_APPROVAL, "params": params}))
                        .await;
                    let handle = self.next_handle().await;
                    assert_eq!(handle.id(), &RequestId::Integer(id as i64));
                    self.handles.insert(id, handle);
                }
                Op::Resolve(id) => {
                    let params = json!({"threadId": "t", "requestId": id});
                    self.peer
                        .send(json!({"method": "serverRequest/resolved", "params": params}))
                        .await;
                    barrier(&self.runtime, &mut self.peer).await;
                    self.settle(Some(id), Settled::Resolved, None);
                }
                _ => unreachable!("not a server step"),
            }
        }
    }

    async fn next_handle(&mut self) -> Handle {
        match self.requests.recv().await {
            Some(PendingServerRequest::CommandExecutionApproval(handle)) => handle,
            other => panic!("{other:?}"),
        }
    }

    /// Settles what waits (`id`'s request, or every one) as the runtime
    /// does for `reason`, with `reply`.
    fn settle(&mut self, id: Option<u64>, reason: Settled, reply: Option<&'static str>) {
        for (_, state) in self
            .model
            .iter_mut()
            .filter(|(each, _)| id.is_none_or(|id| **each == id))
        {
            if *state == State::Waiting {
                *state = State::Settled(reason, reply);
            }
        }
    }

    /// The user's answer to `id`, if it holds the handle, checked against
    /// the model.
    fn answer(&mut self, id: u64, accepted: bool) {
        let Some(handle) = self.handles.remove(&id) else {
            return;
        };
        let result = match accepted {
            true => handle.respond(accept()),
            false => handle.decline(),
        };
        let state = self.model[&id];
        let expected = match state {
            State::Waiting => Ok(()),
            State::Settled(settled, _) => Err(settled),
            State::Answered(_) => unreachable!("a handle answers once"),
        };
        assert_eq!(answered(result), expected, "request {id}");
        if state == State::Waiting {
            self.model.insert(id, State::Answered(decision(accepted)));
        }
    }

    async fn step(&mut self, op: Op) {
        if let Op::Send | Op::Resolve(_) = op {
            self.unsent.push(op);
            return;
        }
        self.flush().await;
        match op {
            Op::Answer(id, accepted) => self.answer(id, accepted),
            Op::Drop(id) => {
                if self.handles.remove(&id).is_some() && self.model[&id] == State::Waiting {
                    self.model.insert(id, State::Answered("decline"));
                }
            }
            Op::Deadline => {
                tokio::time::sleep(DEADLINE + Duration::from_millis(1)).await;
                self.settle(None, Settled::DeadlineElapsed, Some("decline"));
            }
            Op::Send | Op::Resolve(_) => unreachable!("queued above"),
        }
    }

    /// Shuts down, answers what the user still holds (too late), and
    /// compares every reply on the wire with the model.
    async fn finish(mut self) {
        self.flush().await;
        self.runtime.shutdown().await.unwrap();
        self.settle(None, Settled::Shutdown, Some("decline"));
        for (id, handle) in std::mem::take(&mut self.handles) {
            let expected = match self.model[&id] {
                State::Settled(settled, _) => Err(settled),
                other => panic!("request {id} is {other:?} after shutdown"),
            };
            assert_eq!(answered(handle.respond(accept())), expected, "request {id}");
        }
        assert!(self.peer.read_until(None).await.is_none());
        let expected: BTreeMap<u64, Vec<Value>> = self
            .model
            .iter()
            .filter_map(|(id, state)| {
                let decision = match *state {
                    State::Answered(decision) | State::Settled(_, Some(decision)) => decision,
                    State::Settled(_, None) => return None,
                    State::Waiting => panic!("request {id} still waits after shutdown"),
                };
                Some((*id, vec![json!({"result": {"decision": decision}})]))
            })
            .collect();
        assert_eq!(self.peer.replies, expected);
    }
}

async fn run(ops: Vec<Op>) {
    let (runtime, requests, peer) = connect().await;
    let mut run = Run {
        runtime,
        requests,
        peer,
        model: BTreeMap::new(),
        handles: HashMap::new(),
        unsent: Vec::new(),
    };
    let mut sends = 0;
    for op in ops {
        // Each id is sent once.
        if let Op::Send = op {
            if sends == REQUESTS {
                continue;
            }
            sends += 1;
        }
        run.step(op).await;
    }
    run.finish().await;
}

fn proptest_config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        // Failing seeds go under the target folder, never into the
        // repository; proptest prints each one as it saves it.
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(concat!(
            env!("CARGO_TARGET_TMPDIR"),
            "/proptest-exactly-once.txt"
        )))),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(proptest_config())]

    #[test]
    fn every_server_request_is_answered_at_most_once_and_never_approved_unasked(
        ops in proptest::collection::vec(op(), 0..32)
    ) {
        // The clock is paused: it moves only when every task waits, which
        // here is only when a case waits for the deadline.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .unwrap();
        runtime.block_on(run(ops));
    }
}
