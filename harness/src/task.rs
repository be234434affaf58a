//! Tasks: `spawn` on a node, join handles, `yield_now`, abort, kill, and monitors.
//!
//! A monitor, as in Erlang, tells a watcher that a task ended and why (normally, panicked,
//! killed, or its node crashed). [`monitor`] gives a future; [`monitor_notify`] sends a
//! message through the network instead, so that an "exit notice" races with other messages
//! exactly as it does in a real system.

use crate::ids::TaskId;
use crate::ids::{Addr, NodeId};
use crate::sim::network::Payload;
use crate::sim::world::{with, BoxFuture, Deferred, ExitCell, Wait, World};
pub use crate::sim::ExitReason;
use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

/// Spawns a task on the calling task's node.
pub fn spawn<T: 'static>(future: impl Future<Output = T> + 'static) -> JoinHandle<T> {
    spawn_inner(None, None, future)
}

/// Spawns a named task (the name appears in traces and failure reports).
pub fn spawn_named<T: 'static>(
    name: impl Into<String>,
    future: impl Future<Output = T> + 'static,
) -> JoinHandle<T> {
    spawn_inner(None, Some(name.into()), future)
}

/// Spawns a named task on another node.
pub fn spawn_on<T: 'static>(
    node: NodeId,
    name: impl Into<String>,
    future: impl Future<Output = T> + 'static,
) -> JoinHandle<T> {
    spawn_inner(Some(node), Some(name.into()), future)
}

fn spawn_inner<T: 'static>(
    node: Option<NodeId>,
    name: Option<String>,
    future: impl Future<Output = T> + 'static,
) -> JoinHandle<T> {
    let output: Rc<RefCell<Option<T>>> = Rc::new(RefCell::new(None));
    let slot = output.clone();
    let wrapped: BoxFuture = Box::pin(Spawned {
        future: Some(future),
        slot: Some(slot),
    });
    let spawned = with(|w| {
        let node = node.unwrap_or_else(|| w.current_node());
        let spawned = w.spawn_task(node, name.map(String::into_boxed_str), wrapped);
        spawned.ok_or_else(|| TaskId::from_index(w.tasks.len()))
    });
    match spawned {
        Ok((id, exit)) => JoinHandle { id, exit, output },
        // The task limit was hit: the run has failed. The handle is to a task that is dead
        // from the start; its id is the one it would have had, which no task takes (every
        // later spawn hits the limit too).
        Err(id) => {
            let exit = Rc::new(ExitCell::default());
            *exit.reason.borrow_mut() = Some(ExitReason::Killed);
            JoinHandle { id, exit, output }
        }
    }
}

/// A spawned future, which puts its output where its join handle finds it. (An `async`
/// block awaiting the future would move it once more, into its own state, at the first
/// poll: futures are large.) As such a block does, it drops the future as soon as it is
/// done, then stores the output, then drops its reference to the output's slot.
struct Spawned<F: Future> {
    future: Option<F>,
    slot: Option<Rc<RefCell<Option<F::Output>>>>,
}

impl<F: Future> Future for Spawned<F> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // SAFETY: `future` is structurally pinned: never moved out of `self`, only dropped
        // in place; `slot` is not pinned.
        let this = unsafe { self.get_unchecked_mut() };
        let future = this
            .future
            .as_mut()
            .expect("weft: a spawned future polled after it finished");
        match unsafe { Pin::new_unchecked(future) }.poll(cx) {
            Poll::Ready(value) => {
                this.future = None;
                if let Some(slot) = this.slot.take() {
                    *slot.borrow_mut() = Some(value);
                }
                Poll::Ready(())
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The calling task.
pub fn current() -> TaskId {
    with(|w| w.current.expect("weft: task::current() outside a task"))
}

/// Whether a task is still running.
pub fn is_alive(task: TaskId) -> bool {
    with(|w| w.tasks.get(task.index()).is_some_and(|t| t.alive))
}

/// The node a task runs on.
pub fn node_of(task: TaskId) -> NodeId {
    with(|w| w.tasks[task.index()].node)
}

/// Kills a task, as Erlang's `exit(Pid, kill)`. Takes effect when the caller yields (at once
/// if it kills another task). Killing a finished task does nothing.
pub fn kill(task: TaskId) {
    with(|w| {
        if w.tasks.get(task.index()).is_some_and(|t| t.alive) {
            w.deferred
                .push_back(Deferred::Kill(task, ExitReason::Killed));
        }
    });
}

/// Lets other tasks run: the task stays runnable, and whether it keeps running is a decision.
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// Future returned by [`yield_now`].
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Why a joined task produced no value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JoinError(pub ExitReason);

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task ended without a value: {:?}", self.0)
    }
}

impl std::error::Error for JoinError {}

/// Owned permission to join a task. Dropping it does not stop the task.
pub struct JoinHandle<T> {
    id: TaskId,
    exit: Rc<ExitCell>,
    output: Rc<RefCell<Option<T>>>,
}

impl<T> JoinHandle<T> {
    /// The task's id.
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// Stops the task (it ends as killed).
    pub fn abort(&self) {
        kill(self.id);
    }

    /// Whether the task has ended.
    pub fn is_finished(&self) -> bool {
        self.exit.reason.borrow().is_some()
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(value) = self.output.borrow_mut().take() {
            return Poll::Ready(Ok(value));
        }
        if let Some(reason) = self.exit.reason.borrow().clone() {
            return Poll::Ready(Err(JoinError(reason)));
        }
        self.exit.waiters.borrow_mut().push(cx.waker().clone());
        let id = self.id;
        with(|w| w.set_wait(Wait::Join(id)));
        Poll::Pending
    }
}

/// Waits until `task` ends and tells why. A task that already ended reports its reason.
pub fn monitor(task: TaskId) -> Monitor {
    let exit = with(|w| w.tasks.get(task.index()).map(|t| t.exit.clone()));
    Monitor { task, exit }
}

/// Future returned by [`monitor`].
pub struct Monitor {
    task: TaskId,
    exit: Option<Rc<ExitCell>>,
}

impl Future for Monitor {
    type Output = ExitReason;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<ExitReason> {
        let Some(exit) = &self.exit else {
            return Poll::Ready(ExitReason::NoSuchTask);
        };
        if let Some(reason) = exit.reason.borrow().clone() {
            return Poll::Ready(reason);
        }
        exit.waiters.borrow_mut().push(cx.waker().clone());
        let id = self.task;
        with(|w| w.set_wait(Wait::Join(id)));
        Poll::Pending
    }
}

/// When `task` ends, sends `make(reason)` to `to`, from the task's node (port 0), through the
/// network: the notice can be delayed, reordered with other messages, or lost to a partition.
/// If the task has already ended, the notice is sent at once.
pub fn monitor_notify<M: Clone + std::fmt::Debug + 'static>(
    task: TaskId,
    to: Addr,
    make: impl FnOnce(ExitReason) -> M + 'static,
) {
    with(|w| on_exit(w, task, to, make));
}

fn on_exit<M: Clone + std::fmt::Debug + 'static>(
    w: &mut World,
    task: TaskId,
    to: Addr,
    make: impl FnOnce(ExitReason) -> M + 'static,
) {
    {
        let Some(t) = w.tasks.get_mut(task.index()) else {
            let from = Addr::new(NodeId::DRIVER, 0);
            let message = make(ExitReason::NoSuchTask);
            w.send(from, to, Payload::new(message));
            return;
        };
        let from = Addr::new(t.node, 0);
        if t.alive {
            t.on_exit
                .push(Box::new(move |w: &mut World, reason: &ExitReason| {
                    let message = make(reason.clone());
                    w.send(from, to, Payload::new(message));
                }));
        } else {
            let reason = t
                .exit
                .reason
                .borrow()
                .clone()
                .unwrap_or(ExitReason::NoSuchTask);
            let message = make(reason);
            w.send(from, to, Payload::new(message));
        }
    }
}
