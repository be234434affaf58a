//! The client side: the [`Pool`] handle, [`Worker`]s, and the calls clients make.

use crate::bugs::Bugs;
use crate::protocol::{Call, PoolMsg, Ready, Reply};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::time::Duration;
use weft::net::{self, Addr, Endpoint, Request};
use weft::time::{self, Instant};
use weft::NodeId;
use weft::TaskId;

/// How long a call waits for the pool's answer before reporting it unavailable.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// A worker: a task the pool started, and the address it receives messages on. Like an Erlang
/// pid it is plain data: any value can be handed to [`Pool::checkin`], which refuses tasks that
/// are not checked-out workers of the pool.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Worker {
    task: TaskId,
    addr: Addr,
}

impl Worker {
    /// A handle to `task`, receiving on `addr`.
    pub fn new(task: TaskId, addr: Addr) -> Worker {
        Worker { task, addr }
    }

    /// The worker's task.
    pub fn task(&self) -> TaskId {
        self.task
    }

    /// Where the worker receives messages.
    pub fn addr(&self) -> Addr {
        self.addr
    }

    /// Sends `message` to the worker (from the calling node's connection).
    pub fn send<M: Clone + fmt::Debug + 'static>(&self, message: M) {
        net::send(self.addr, message);
    }
}

impl fmt::Debug for Worker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "worker@{}", self.task.index())
    }
}

/// What a worker's task is given when the pool starts it.
pub struct WorkerCtx<M> {
    /// The worker's mailbox (bound by the pool before the task starts, so nothing sent to the
    /// worker is lost).
    pub endpoint: Endpoint<M>,
    /// The pool that started it.
    pub pool: Pool,
}

impl<M: Clone + fmt::Debug + 'static> WorkerCtx<M> {
    /// The worker's own handle (call it from the worker's task).
    pub fn me(&self) -> Worker {
        Worker::new(weft::task::current(), self.endpoint.addr())
    }
}

/// Starts a worker's task: the factory given to the pool.
pub type Factory<M> = Rc<dyn Fn(WorkerCtx<M>) -> Pin<Box<dyn Future<Output = ()>>>>;

/// How to start a pool.
pub struct PoolConfig<M> {
    /// Workers started at once and kept.
    pub size: usize,
    /// Extra workers started on demand when all are checked out, dismissed on checkin.
    pub max_overflow: usize,
    /// The node the pool server and its workers run on (default: the caller's).
    pub node: Option<NodeId>,
    /// Name of the server task (workers are "worker 1", "worker 2"...).
    pub name: String,
    /// Planted bugs (none by default).
    pub bugs: Bugs,
    /// Starts a worker.
    pub factory: Factory<M>,
}

impl<M: Clone + fmt::Debug + 'static> PoolConfig<M> {
    /// A pool of `size` workers plus up to `max_overflow` on demand, each running `worker`.
    pub fn new<F, Fut>(size: usize, max_overflow: usize, worker: F) -> PoolConfig<M>
    where
        F: Fn(WorkerCtx<M>) -> Fut + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        PoolConfig {
            size,
            max_overflow,
            node: None,
            name: "pool".to_string(),
            bugs: Bugs::none(),
            factory: Rc::new(move |ctx| Box::pin(worker(ctx))),
        }
    }

    /// Runs the pool on `node`.
    pub fn on(mut self, node: NodeId) -> Self {
        self.node = Some(node);
        self
    }

    /// Names the server task.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    /// Switches planted bugs on.
    pub fn bugs(mut self, bugs: Bugs) -> Self {
        self.bugs = bugs;
        self
    }
}

/// Whether and how long a checkout waits when every worker is checked out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Block {
    /// Answer [`CheckoutError::Full`] at once.
    No,
    /// Wait in line for up to this long, then give up with [`CheckoutError::Timeout`].
    Upto(Duration),
}

/// Why a checkout gave no worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckoutError {
    /// Every worker is checked out and no overflow worker may be started (non-blocking).
    Full,
    /// No worker came free in time (blocking).
    Timeout,
    /// The pool did not answer.
    Unavailable,
}

/// Why a checkin was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckinError {
    /// The task is not a checked-out worker of this pool; nothing changed.
    NotCheckedOut,
    /// The pool did not answer.
    Unavailable,
}

/// The pool did not answer a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unavailable;

/// The pool's state name, as poolboy's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PoolState {
    /// Idle workers are available.
    Ready,
    /// No idle worker, but overflow workers may still be started.
    Overflow,
    /// Every worker is checked out and no overflow worker may be started.
    Full,
}

/// A snapshot of the pool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    /// The state name.
    pub state: PoolState,
    /// Idle workers.
    pub idle: usize,
    /// Overflow workers alive (checked out).
    pub overflow: usize,
    /// The checked-out workers' tasks, in task order.
    pub checked_out: Vec<TaskId>,
    /// Checkouts waiting in line (including expired ones not yet shed).
    pub waiting: usize,
    /// Monitors the pool holds on callers: one per checked-out worker and one per waiter.
    pub monitors: usize,
}

/// A handle to a running pool: its server's address. Cheap to copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pool {
    pub(crate) addr: Addr,
    pub(crate) task: TaskId,
}

/// Starts a pool: its server task and its `size` workers. Returns once the pool is ready.
pub async fn start<M: Clone + fmt::Debug + 'static>(
    config: PoolConfig<M>,
) -> Result<Pool, Unavailable> {
    let node = config.node.unwrap_or_else(weft::node::current);
    let ready = Endpoint::<Ready>::ephemeral();
    let name = config.name.clone();
    let reply_to = ready.addr();
    let handle = weft::task::spawn_on(node, name, crate::server::serve(config, reply_to));
    match time::timeout(CALL_TIMEOUT, ready.recv()).await {
        Ok((_, Ready(addr))) => Ok(Pool {
            addr,
            task: handle.id(),
        }),
        Err(_) => Err(Unavailable),
    }
}

impl Pool {
    /// The server's address.
    pub fn addr(&self) -> Addr {
        self.addr
    }

    /// The server's task.
    pub fn task(&self) -> TaskId {
        self.task
    }

    /// Sends a call and waits up to `timeout` for its reply. Requests go out on the calling
    /// node's connection (port 0), so requests from one node arrive in the order sent, as
    /// over an Erlang distribution channel; the reply comes to a fresh endpoint.
    async fn call(&self, body: Call, timeout: Duration) -> Result<Reply, Unavailable> {
        let endpoint = Endpoint::<Reply>::ephemeral();
        net::send(
            self.addr,
            PoolMsg::Call(Request::new(body, self.addr, endpoint.addr())),
        );
        match time::timeout(timeout, endpoint.recv()).await {
            Ok((_, reply)) => Ok(reply),
            Err(_) => Err(Unavailable),
        }
    }

    /// Checks a worker out for the calling task: when the caller ends, the worker comes back.
    pub async fn checkout(&self, block: Block) -> Result<Worker, CheckoutError> {
        self.checkout_for(weft::task::current(), block).await
    }

    /// Checks a worker out on behalf of `owner` (a supervisor handing work to short-lived
    /// helpers): the lease ends when `owner` ends, or at checkin.
    ///
    /// A blocking checkout that times out tells the pool (a cancel), so a worker the pool
    /// handed over just as the caller gave up comes back.
    pub async fn checkout_for(&self, owner: TaskId, block: Block) -> Result<Worker, CheckoutError> {
        let (deadline, wait) = match block {
            Block::No => (None, CALL_TIMEOUT),
            Block::Upto(timeout) => (Some(Instant::now().after(timeout)), timeout),
        };
        let endpoint = Endpoint::<Reply>::ephemeral();
        let call = Call::Checkout { owner, deadline };
        net::send(
            self.addr,
            PoolMsg::Call(Request::new(call, self.addr, endpoint.addr())),
        );
        match time::timeout(wait, endpoint.recv()).await {
            Ok((_, Reply::Worker(worker))) => Ok(worker),
            Ok((_, Reply::Full)) => Err(CheckoutError::Full),
            Ok((_, other)) => panic!("weft-pool: unexpected reply to a checkout: {other:?}"),
            Err(_) if deadline.is_some() => {
                net::send(
                    self.addr,
                    PoolMsg::Cancel {
                        request: endpoint.addr(),
                        owner,
                    },
                );
                Err(CheckoutError::Timeout)
            }
            Err(_) => Err(CheckoutError::Unavailable),
        }
    }

    /// Returns a checked-out worker. A task that is not one of this pool's checked-out
    /// workers is refused and nothing changes.
    pub async fn checkin(&self, worker: Worker) -> Result<(), CheckinError> {
        match self.call(Call::Checkin(worker), CALL_TIMEOUT).await {
            Ok(Reply::CheckedIn) => Ok(()),
            Ok(Reply::NotCheckedOut) => Err(CheckinError::NotCheckedOut),
            Ok(other) => panic!("weft-pool: unexpected reply to a checkin: {other:?}"),
            Err(Unavailable) => Err(CheckinError::Unavailable),
        }
    }

    /// Returns a worker without waiting for the pool's answer (as poolboy's asynchronous
    /// checkin): a refusal goes unnoticed.
    pub fn checkin_nowait(&self, worker: Worker) {
        net::send(self.addr, PoolMsg::Checkin(worker));
    }

    /// Checks a worker out (waiting up to `timeout`), runs `work` with it, and always checks
    /// it back in. If the calling task is killed meanwhile, the worker comes back as its
    /// owner's lease ends.
    pub async fn transaction<T, F, Fut>(
        &self,
        timeout: Duration,
        work: F,
    ) -> Result<T, CheckoutError>
    where
        F: FnOnce(Worker) -> Fut,
        Fut: Future<Output = T>,
    {
        let worker = self.checkout(Block::Upto(timeout)).await?;
        let result = work(worker).await;
        let _ = self.checkin(worker).await;
        Ok(result)
    }

    /// The pool's status.
    pub async fn status(&self) -> Result<Status, Unavailable> {
        match self.call(Call::Status, CALL_TIMEOUT).await? {
            Reply::Status(status) => Ok(status),
            other => panic!("weft-pool: unexpected reply to status: {other:?}"),
        }
    }

    /// Links `task` to the pool, as an Erlang link with exits trapped: when the pool stops,
    /// `task` is killed; when `task` ends, the pool receives its exit notice and carries on.
    pub async fn link(&self, task: TaskId) -> Result<(), Unavailable> {
        self.call(Call::Link(task), CALL_TIMEOUT).await.map(|_| ())
    }

    /// Stops the pool: its workers and linked tasks are killed, waiting checkouts are not
    /// answered.
    pub async fn stop(&self) -> Result<(), Unavailable> {
        self.call(Call::Stop, CALL_TIMEOUT).await.map(|_| ())
    }
}
