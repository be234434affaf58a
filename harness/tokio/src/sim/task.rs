//! Tasks: `spawn` and `spawn_local` start a weft task on the calling node; `JoinHandle`,
//! `JoinError`, `yield_now`.
//!
//! Differences from tokio, all louder than tokio: a panicking task fails the whole run (weft
//! reports it as a `panic` failure with the task's name) instead of handing a `JoinError` to
//! its joiner, so [`JoinError::is_panic`] is never true; a task on a crashed node ends as
//! cancelled. `JoinSet`, `LocalSet`, `spawn_blocking` and `block_in_place` are not provided
//! (they fail to compile).

use super::local::Local;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use weft::task::ExitReason;

/// Spawns a task on the calling task's node. Same bounds as tokio's, so code that compiles
/// here compiles with tokio.
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    JoinHandle {
        inner: Local::new(weft::task::spawn(future)),
    }
}

/// Spawns a `!Send` task on the calling task's node (tokio requires a `LocalSet`; every weft
/// task is local).
pub fn spawn_local<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    JoinHandle {
        inner: Local::new(weft::task::spawn(future)),
    }
}

/// Lets other tasks run; whether this task runs again at once is a recorded decision.
pub async fn yield_now() {
    weft::task::yield_now().await
}

/// Owned permission to join a task. Dropping it detaches the task, as in tokio.
pub struct JoinHandle<T> {
    inner: Local<weft::task::JoinHandle<T>>,
}

impl<T> JoinHandle<T> {
    /// Stops the task: it ends as cancelled.
    pub fn abort(&self) {
        self.inner.get().abort();
    }

    /// Whether the task has ended.
    pub fn is_finished(&self) -> bool {
        self.inner.get().is_finished()
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JoinHandle({})", self.inner.get().id())
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.inner.get_mut();
        match Pin::new(inner).poll(cx) {
            Poll::Ready(Ok(value)) => Poll::Ready(Ok(value)),
            Poll::Ready(Err(error)) => Poll::Ready(Err(JoinError { reason: error.0 })),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Why a joined task gave no value.
#[derive(Clone, PartialEq, Eq)]
pub struct JoinError {
    reason: ExitReason,
}

impl JoinError {
    /// The task was aborted, or its node crashed.
    pub fn is_cancelled(&self) -> bool {
        matches!(self.reason, ExitReason::Killed | ExitReason::NodeCrashed)
    }

    /// The task panicked. In the simulation a panic fails the run first, so this is false
    /// whenever code can observe it.
    pub fn is_panic(&self) -> bool {
        matches!(self.reason, ExitReason::Panicked(_))
    }

    /// weft's reason (killed, node crashed, ...).
    pub fn reason(&self) -> &ExitReason {
        &self.reason
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JoinError::{:?}", self.reason)
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.reason {
            ExitReason::NodeCrashed => f.write_str("task was cancelled: its node crashed"),
            ExitReason::Killed => f.write_str("task was cancelled"),
            other => write!(f, "task ended without a value: {other:?}"),
        }
    }
}

impl std::error::Error for JoinError {}

impl From<JoinError> for std::io::Error {
    fn from(error: JoinError) -> std::io::Error {
        std::io::Error::other(error.to_string())
    }
}
