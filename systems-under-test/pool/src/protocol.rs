//! The messages between clients and the pool server. Their `Debug` forms are short, because
//! counterexamples quote them ("client's checkout to pool took 4µs instead of 0s").

use crate::client::{Status, Worker};
use std::fmt;
use weft::net::{Addr, Request};
use weft::task::ExitReason;
use weft::time::Instant;
use weft::TaskId;

/// Everything the pool server's mailbox receives.
#[derive(Clone)]
pub(crate) enum PoolMsg {
    /// A call; the reply goes to the request's reply address.
    Call(Request<Call, Reply>),
    /// A blocking checkout timed out: `request` is its reply address (the request's identity).
    Cancel { request: Addr, owner: TaskId },
    /// An asynchronous checkin.
    Checkin(Worker),
    /// A worker or a linked task ended.
    Exit { task: TaskId, reason: ExitReason },
    /// A monitored caller ended.
    Down { monitor: u64, task: TaskId },
}

/// Calls.
#[derive(Clone)]
pub(crate) enum Call {
    /// A checkout for `owner`; with a deadline it may wait in line until then.
    Checkout {
        owner: TaskId,
        deadline: Option<Instant>,
    },
    Checkin(Worker),
    Status,
    Link(TaskId),
    Stop,
}

/// Replies.
#[derive(Clone)]
pub(crate) enum Reply {
    Worker(Worker),
    Full,
    CheckedIn,
    NotCheckedOut,
    Status(Status),
    Linked,
    Stopped,
}

/// The server's first message to the task that started it: where to reach it.
#[derive(Clone, Copy)]
pub(crate) struct Ready(pub Addr);

impl fmt::Debug for Ready {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ready at {}", self.0)
    }
}

fn ms(instant: Instant) -> String {
    weft::internals::format_ns(instant.as_nanos())
}

impl fmt::Debug for PoolMsg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PoolMsg::Call(request) => request.body.fmt(f),
            PoolMsg::Cancel { request, .. } => write!(f, "cancel({request})"),
            PoolMsg::Checkin(worker) => write!(f, "checkin({worker:?}, no reply)"),
            PoolMsg::Exit { task, reason } => write!(f, "exit(task {}: {reason:?})", task.index()),
            PoolMsg::Down { task, .. } => write!(f, "down(task {})", task.index()),
        }
    }
}

impl fmt::Debug for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Call::Checkout { deadline: None, .. } => write!(f, "checkout"),
            Call::Checkout {
                deadline: Some(deadline),
                ..
            } => write!(f, "checkout(wait until {})", ms(*deadline)),
            Call::Checkin(worker) => write!(f, "checkin({worker:?})"),
            Call::Status => write!(f, "status"),
            Call::Link(task) => write!(f, "link(task {})", task.index()),
            Call::Stop => write!(f, "stop"),
        }
    }
}

impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reply::Worker(worker) => write!(f, "{worker:?}"),
            Reply::Full => write!(f, "full"),
            Reply::CheckedIn => write!(f, "checked in"),
            Reply::NotCheckedOut => write!(f, "not checked out"),
            Reply::Status(s) => write!(f, "status({:?})", s.state),
            Reply::Linked => write!(f, "linked"),
            Reply::Stopped => write!(f, "stopped"),
        }
    }
}
