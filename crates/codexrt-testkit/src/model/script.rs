//! [`Script`]: where the scripted model's replies come from, and
//! [`ScriptError`]: what went wrong while following it.

use std::collections::VecDeque;
use std::fmt;

use crate::{ModelRequest, Reply};

/// The replies of a [`ModelServer`](crate::ModelServer), one per model
/// request: first the queued replies in order, then, once they are used up,
/// the responder function if there is one. With neither left the script is
/// exhausted: the request is answered with HTTP 500 and a
/// [`ScriptError::Exhausted`] is recorded, so a test never hangs on a
/// missing reply.
///
/// ```
/// use codexrt_testkit::{Reply, Script};
///
/// // A fixed sequence: run a command, then answer its output.
/// let fixed = Script::new()
///     .reply(Reply::exec_command("touch x"))
///     .reply(Reply::message("done"));
///
/// // A reaction to what codex sent.
/// let reactive = Script::from_fn(|request| match request.function_call_outputs().last() {
///     Some(output) if output.text.contains("rejected") => Reply::message("understood"),
///     Some(_) => Reply::message("ran it"),
///     None => Reply::exec_command("touch x"),
/// });
/// # let _ = (fixed, reactive);
/// ```
#[derive(Default)]
#[must_use = "a script does nothing until a server follows it"]
pub struct Script {
    replies: VecDeque<Reply>,
    responder: Option<Responder>,
}

type Responder = Box<dyn FnMut(&ModelRequest) -> Reply + Send>;

impl Script {
    /// An empty script: every request exhausts it until replies are added
    /// (here or with [`ModelServer::push`](crate::ModelServer::push)).
    pub fn new() -> Script {
        Script::default()
    }

    /// A script of these replies, in order.
    pub fn replies(replies: impl IntoIterator<Item = Reply>) -> Script {
        Script {
            replies: replies.into_iter().collect(),
            responder: None,
        }
    }

    /// A script that asks `responder` for the reply to each request, after
    /// any queued replies. A panic in `responder` is caught, recorded as
    /// [`ScriptError::ResponderPanicked`] and answered with HTTP 500.
    pub fn from_fn<F>(responder: F) -> Script
    where
        F: FnMut(&ModelRequest) -> Reply + Send + 'static,
    {
        Script {
            replies: VecDeque::new(),
            responder: Some(Box::new(responder)),
        }
    }

    /// Appends a reply to the queue.
    pub fn reply(mut self, reply: Reply) -> Script {
        self.replies.push_back(reply);
        self
    }

    pub(crate) fn push(&mut self, reply: Reply) {
        self.replies.push_back(reply);
    }

    pub(crate) fn queued(&self) -> usize {
        self.replies.len()
    }

    /// The reply to `request`, or why there is none.
    pub(crate) fn next(
        &mut self,
        request: &ModelRequest,
        index: usize,
    ) -> Result<Reply, ScriptError> {
        if let Some(reply) = self.replies.pop_front() {
            return Ok(reply);
        }
        let Some(responder) = &mut self.responder else {
            return Err(ScriptError::Exhausted { request: index });
        };
        // The responder is test code; a failed assertion in it must reach
        // the test as a recorded error, not as a reset connection that codex
        // reports as a network problem.
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| responder(request)))
            .map_err(|_| ScriptError::ResponderPanicked { request: index })
    }
}

impl fmt::Debug for Script {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Script")
            .field("replies", &self.replies)
            .field("responder", &self.responder.as_ref().map(|_| "FnMut"))
            .finish()
    }
}

/// Something that went wrong while serving the script, recorded by the
/// server (see [`ModelServer::script_errors`](crate::ModelServer::script_errors))
/// and answered with an HTTP error so that codex fails the turn instead of
/// waiting. `request` is the index of the model request involved (0 for the
/// first `POST /v1/responses`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ScriptError {
    /// A model request arrived after the last reply (answered with 500).
    Exhausted {
        /// The index of the model request.
        request: usize,
    },
    /// The body of a model request was not JSON (answered with 400).
    InvalidBody {
        /// The index of the model request.
        request: usize,
        /// The JSON parser's message.
        error: String,
    },
    /// A reply could not be sent as given (answered with 500).
    InvalidReply {
        /// The index of the model request.
        request: usize,
        /// What is wrong with the reply.
        reason: String,
    },
    /// The responder function panicked (answered with 500).
    ResponderPanicked {
        /// The index of the model request.
        request: usize,
    },
}

impl fmt::Display for ScriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScriptError::Exhausted { request } => {
                write!(
                    f,
                    "model request #{request} arrived after the script's last reply"
                )
            }
            ScriptError::InvalidBody { request, error } => {
                write!(
                    f,
                    "model request #{request} has a body that is not JSON: {error}"
                )
            }
            ScriptError::InvalidReply { request, reason } => {
                write!(
                    f,
                    "the reply to model request #{request} is invalid: {reason}"
                )
            }
            ScriptError::ResponderPanicked { request } => {
                write!(
                    f,
                    "the script's responder panicked on model request #{request}"
                )
            }
        }
    }
}
