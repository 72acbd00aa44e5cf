//! Property test: server requests are answered exactly once over random
//! interleavings of the user's answer, a dropped handle, the deadline,
//! `serverRequest/resolved`, shutdown and repeated ids. The test plays the
//! server on the far end of a memory pair and compares every reply on the
//! wire with a model of what the crate docs promise: one reply per request,
//! the user's if the user answered first, the safe answer (`decline`) at
//! the deadline, on a drop and at shutdown, none after `resolved`; a
//! request repeating the id of one still waiting is refused (never handed
//! over, no reply, counted once) and the first keeps its one reply; an id
//! whose request was answered or settled names a new request; never an
//! approval the user did not give.

use std::collections::BTreeMap;
use std::task::{Context, Poll, Waker};
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
use proptest::sample::Index;
use proptest::test_runner::FileFailurePersistence;
use serde_json::{Value, json};

use crate::support::config;

const COMMAND_APPROVAL: &str = "item/commandExecution/requestApproval";

/// Distinct ids per case: 0 to `IDS - 1`, each new one the next.
const IDS: u64 = 6;
/// Request frames per case, new ids and repeated ones together.
const FRAMES: usize = 12;
/// The server-request deadline; the test's clock is paused, so it passes
/// only when a case waits for it.
const DEADLINE: Duration = Duration::from_secs(1);
/// How long the test waits for a request to be handed over, on the paused
/// clock.
const HAND_OVER: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone)]
enum Op {
    /// The server sends a request with a new id.
    Send,
    /// The server sends a request with an id it used before, picked among
    /// those: a duplicate while that id's request waits, else a new request.
    Repeat(Index),
    /// The server sends `serverRequest/resolved` for this id (sent or not).
    Resolve(u64),
    /// The user answers the oldest request of this id whose handle it
    /// holds, if any: accept, or decline.
    Answer(u64, bool),
    /// The user drops the handle of the oldest request of this id it
    /// holds, if any.
    Drop(u64),
    /// Time passes beyond the deadline of every request received so far.
    Deadline,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => Just(Op::Send),
        2 => any::<Index>().prop_map(Op::Repeat),
        1 => (0..IDS).prop_map(Op::Resolve),
        2 => (0..IDS, any::<bool>()).prop_map(|(id, accept)| Op::Answer(id, accept)),
        1 => (0..IDS).prop_map(Op::Drop),
        1 => Just(Op::Deadline),
    ]
}

/// What the server sends, queued until the user's next step.
#[derive(Debug, Clone, Copy)]
enum Sent {
    Request(u64),
    Resolved(u64),
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

/// A request handed to the user, in the model.
#[derive(Debug)]
struct Request {
    id: u64,
    state: State,
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

/// Replies in a canonical order: replies to different requests may
/// overtake each other (JSON-RPC allows it, and the runtime's reply path
/// does), and a reused id names more than one request.
fn sorted(mut replies: Vec<Value>) -> Vec<Value> {
    replies.sort_by_key(Value::to_string);
    replies
}

/// One case: the runtime, the server's end, and the model.
struct Run {
    runtime: Runtime,
    requests: ServerRequestReceiver,
    peer: Peer,
    /// Each request handed to the user, in the order the server sent them.
    model: Vec<Request>,
    /// Requests refused because their id was that of one still waiting.
    duplicates: u64,
    /// The handles the user holds, by place in `model`.
    handles: BTreeMap<usize, Handle>,
    /// The server's steps not sent yet.
    unsent: Vec<Sent>,
}

impl Run {
    /// Whether the last request of `id` still waits: a request with that
    /// id is then a duplicate.
    fn live(&self, id: u64) -> bool {
        self.model
            .iter()
            .rev()
            .find(|request| request.id == id)
            .is_some_and(|request| request.state == State::Waiting)
    }

    /// Sends the server's steps, waits until they are routed, and takes the
    /// handles of the requests among them (queued in order).
    async fn flush(&mut self) {
        let steps = std::mem::take(&mut self.unsent);
        for step in steps {
            match step {
                Sent::Request(id) => {
                    let duplicate = self.live(id);
                    let params =
                        json!({"itemId": "i", "startedAtMs": 0, "threadId": "t", "turnId": "u"});
                    self.peer
                        .send(json!({"id": id, "method": COMMAND_APPROVAL, "params": params}))
                        .await;
                    if duplicate {
                        self.duplicates += 1;
                        self.refused().await;
                        continue;
                    }
                    self.model.push(Request {
                        id,
                        state: State::Waiting,
                    });
                    let handle = self.next_handle().await;
                    assert_eq!(handle.id(), &RequestId::Integer(id as i64));
                    self.handles.insert(self.model.len() - 1, handle);
                }
                Sent::Resolved(id) => {
                    let params = json!({"threadId": "t", "requestId": id});
                    self.peer
                        .send(json!({"method": "serverRequest/resolved", "params": params}))
                        .await;
                    barrier(&self.runtime, &mut self.peer).await;
                    // The server resolves the last request of the id; an
                    // earlier one no longer waits.
                    if let Some(request) = self.model.iter_mut().rev().find(|r| r.id == id)
                        && request.state == State::Waiting
                    {
                        request.state = State::Settled(Settled::Resolved, None);
                    }
                }
            }
        }
    }

    /// The duplicate just sent was refused: once routed, nothing more was
    /// handed to the user, and the count says so.
    async fn refused(&mut self) {
        barrier(&self.runtime, &mut self.peer).await;
        let mut cx = Context::from_waker(Waker::noop());
        if let Poll::Ready(request) = self.requests.poll_recv(&mut cx) {
            panic!("a duplicate id was handed over: {request:?}");
        }
        let stats = self.runtime.stats();
        assert_eq!(stats.duplicate_server_requests, self.duplicates);
    }

    /// The handle of the request just sent. The clock is paused, so the
    /// wait ends as soon as every task is idle: a request that is not
    /// handed over fails the case instead of hanging it.
    async fn next_handle(&mut self) -> Handle {
        let next = tokio::time::timeout(HAND_OVER, self.requests.recv()).await;
        match next {
            Ok(Some(PendingServerRequest::CommandExecutionApproval(handle))) => handle,
            Ok(other) => panic!("{other:?}"),
            Err(_) => panic!("a new request was not handed over"),
        }
    }

    /// Settles every request that waits as the runtime does for `reason`,
    /// with `reply`.
    fn settle_all(&mut self, reason: Settled, reply: Option<&'static str>) {
        for request in &mut self.model {
            if request.state == State::Waiting {
                request.state = State::Settled(reason, reply);
            }
        }
    }

    /// The place of the oldest request of `id` whose handle the user holds.
    fn held(&self, id: u64) -> Option<usize> {
        self.handles
            .keys()
            .copied()
            .find(|index| self.model[*index].id == id)
    }

    /// The user's answer to the oldest request of `id` it holds, checked
    /// against the model.
    fn answer(&mut self, id: u64, accepted: bool) {
        let Some(index) = self.held(id) else {
            return;
        };
        let handle = self.handles.remove(&index).unwrap();
        let result = match accepted {
            true => handle.respond(accept()),
            false => handle.decline(),
        };
        let state = self.model[index].state;
        let expected = match state {
            State::Waiting => Ok(()),
            State::Settled(settled, _) => Err(settled),
            State::Answered(_) => unreachable!("a handle answers once"),
        };
        assert_eq!(answered(result), expected, "request {index} (id {id})");
        if state == State::Waiting {
            self.model[index].state = State::Answered(decision(accepted));
        }
    }

    async fn step(&mut self, op: Op) {
        self.flush().await;
        match op {
            Op::Answer(id, accepted) => self.answer(id, accepted),
            Op::Drop(id) => {
                if let Some(index) = self.held(id) {
                    self.handles.remove(&index);
                    if self.model[index].state == State::Waiting {
                        self.model[index].state = State::Answered("decline");
                    }
                }
            }
            Op::Deadline => {
                tokio::time::sleep(DEADLINE + Duration::from_millis(1)).await;
                self.settle_all(Settled::DeadlineElapsed, Some("decline"));
            }
            Op::Send | Op::Repeat(_) | Op::Resolve(_) => unreachable!("queued by `run`"),
        }
    }

    /// Shuts down, answers what the user still holds (too late), and
    /// compares every reply on the wire, and the count of refused
    /// duplicates, with the model.
    async fn finish(mut self) {
        self.flush().await;
        barrier(&self.runtime, &mut self.peer).await;
        let stats = self.runtime.stats();
        assert_eq!(stats.duplicate_server_requests, self.duplicates);
        self.runtime.shutdown().await.unwrap();
        self.settle_all(Settled::Shutdown, Some("decline"));
        for (index, handle) in std::mem::take(&mut self.handles) {
            let expected = match self.model[index].state {
                State::Settled(settled, _) => Err(settled),
                other => panic!("request {index} is {other:?} after shutdown"),
            };
            assert_eq!(
                answered(handle.respond(accept())),
                expected,
                "request {index}"
            );
        }
        assert!(self.requests.recv().await.is_none(), "handed over unasked");
        assert!(self.peer.read_until(None).await.is_none());
        let mut expected: BTreeMap<u64, Vec<Value>> = BTreeMap::new();
        for (index, request) in self.model.iter().enumerate() {
            let decision = match request.state {
                State::Answered(decision) | State::Settled(_, Some(decision)) => decision,
                State::Settled(_, None) => continue,
                State::Waiting => panic!("request {index} still waits after shutdown"),
            };
            let reply = json!({"result": {"decision": decision}});
            expected.entry(request.id).or_default().push(reply);
        }
        let expected: BTreeMap<u64, Vec<Value>> = expected
            .into_iter()
            .map(|(id, replies)| (id, sorted(replies)))
            .collect();
        let replies: BTreeMap<u64, Vec<Value>> = std::mem::take(&mut self.peer.replies)
            .into_iter()
            .map(|(id, replies)| (id, sorted(replies)))
            .collect();
        assert_eq!(replies, expected);
    }
}

async fn run(ops: Vec<Op>) {
    let (runtime, requests, peer) = connect().await;
    let mut run = Run {
        runtime,
        requests,
        peer,
        model: Vec::new(),
        duplicates: 0,
        handles: BTreeMap::new(),
        unsent: Vec::new(),
    };
    // The ids used so far are 0 to `ids - 1`.
    let mut ids = 0;
    let mut frames = 0;
    for op in ops {
        let sent = match op {
            Op::Send if ids < IDS && frames < FRAMES => {
                ids += 1;
                Sent::Request(ids - 1)
            }
            Op::Repeat(index) if ids > 0 && frames < FRAMES => {
                Sent::Request(index.index(ids as usize) as u64)
            }
            Op::Send | Op::Repeat(_) => continue,
            Op::Resolve(id) => {
                run.unsent.push(Sent::Resolved(id));
                continue;
            }
            op => {
                run.step(op).await;
                continue;
            }
        };
        frames += 1;
        run.unsent.push(sent);
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
