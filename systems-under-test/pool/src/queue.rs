//! A work queue above the pool, in the manner of riak_core's vnode worker pool: submitted jobs
//! are handed to pool workers, and queued while none is free. Every submitted job is answered,
//! with its result or, if its worker died running it, with [`JobError::WorkerCrashed`].
//!
//! The queue is a server task that starts its own pool (no overflow) and checks workers out
//! for itself. It is `Ready` (a new job is handed to a worker checked out at once) or
//! `Queueing` (the pool was full: new jobs join the queue). A worker that finishes a job tells
//! the queue, which hands it the next queued job or checks it back in and becomes `Ready`.
//! Two races are closed by construction:
//!
//! - only the queue checks workers in, so a worker's own checkin can never race with the
//!   queue's next checkout (riak_core #298);
//! - when the queue needs a worker while none of its workers is busy (nobody will report
//!   back), it waits in the pool's line with a blocking checkout: a worker the pool is just
//!   replacing after a crash reaches it, whatever order the crash notices arrive in
//!   (riak_core #298 and #958).
//!
//! ```
//! use weft::{Config, Sim, Source};
//! use weft_pool::queue::{self, QueueConfig};
//!
//! let sim = Sim::new(Config::default(), Source::zeros());
//! let (report, out) = sim.run(async {
//!     let q = queue::start(QueueConfig::new(1, |n: u32| async move { n * 2 })).await.unwrap();
//!     let tickets: Vec<_> = (1..=3).map(|n| q.submit(n)).collect();
//!     let mut results = Vec::new();
//!     for t in tickets {
//!         results.push(t.wait().await.unwrap());
//!     }
//!     results
//! });
//! assert!(report.outcome.failure().is_none());
//! assert_eq!(out, Some(vec![2, 4, 6]));
//! ```

use crate::bugs::{Bug, Bugs};
use crate::client::{Block, CheckoutError, Pool, PoolConfig, Unavailable, Worker, CALL_TIMEOUT};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt::{self, Debug};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::time::Duration;
use weft::net::{self, Addr, Endpoint};
use weft::NodeId;
use weft::{task, time, TaskId};

/// How long the queue waits in the pool's line before asking again.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(1);

/// Runs one job inside a worker task.
pub type Handler<J, R> = Rc<dyn Fn(J) -> Pin<Box<dyn Future<Output = R>>>>;

/// How to start a work queue.
pub struct QueueConfig<J, R> {
    /// Workers in the queue's pool.
    pub size: usize,
    /// The node of the queue (default: the caller's).
    pub node: Option<NodeId>,
    /// The node of its pool and workers (default: the queue's).
    pub pool_node: Option<NodeId>,
    /// Planted bugs (none by default), for the queue and its pool.
    pub bugs: Bugs,
    /// Runs a job.
    pub handler: Handler<J, R>,
}

impl<J: Clone + Debug + 'static, R: Clone + Debug + 'static> QueueConfig<J, R> {
    /// A queue over a pool of `size` workers, each running jobs with `handler`.
    pub fn new<F, Fut>(size: usize, handler: F) -> QueueConfig<J, R>
    where
        F: Fn(J) -> Fut + 'static,
        Fut: Future<Output = R> + 'static,
    {
        QueueConfig {
            size,
            node: None,
            pool_node: None,
            bugs: Bugs::none(),
            handler: Rc::new(move |job| Box::pin(handler(job))),
        }
    }

    /// Runs the queue on `queue` and its pool on `pool`.
    pub fn on(mut self, queue: NodeId, pool: NodeId) -> Self {
        self.node = Some(queue);
        self.pool_node = Some(pool);
        self
    }

    /// Switches planted bugs on.
    pub fn bugs(mut self, bugs: Bugs) -> Self {
        self.bugs = bugs;
        self
    }
}

/// Why a job has no result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobError {
    /// The worker running it died.
    WorkerCrashed,
}

/// The queue's mailbox.
#[derive(Clone)]
enum QueueMsg<J, R> {
    Submit { job: J, reply_to: Addr },
    Done { worker: Worker, id: u64, result: R },
    Down { task: TaskId },
}

impl<J: Debug, R: Debug> Debug for QueueMsg<J, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QueueMsg::Submit { job, .. } => write!(f, "submit({job:?})"),
            QueueMsg::Done { worker, result, .. } => write!(f, "done({worker:?}: {result:?})"),
            QueueMsg::Down { task } => write!(f, "down(task {})", task.index()),
        }
    }
}

/// The queue's first message to the task that started it.
#[derive(Clone, Copy)]
struct QueueReady {
    addr: Addr,
    pool: Pool,
}

impl Debug for QueueReady {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ready at {}", self.addr)
    }
}

/// A job sent to a worker, with the queue's number for it.
#[derive(Clone)]
struct Run<J> {
    id: u64,
    job: J,
}

impl<J: Debug> Debug for Run<J> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "run({:?})", self.job)
    }
}

/// A handle to a running work queue.
pub struct WorkQueue<J, R> {
    addr: Addr,
    pool: Pool,
    _types: std::marker::PhantomData<fn(J) -> R>,
}

impl<J, R> Clone for WorkQueue<J, R> {
    fn clone(&self) -> Self {
        WorkQueue {
            addr: self.addr,
            pool: self.pool,
            _types: std::marker::PhantomData,
        }
    }
}

/// A submitted job's answer, to wait for.
pub struct Ticket<R> {
    endpoint: Endpoint<Result<R, JobError>>,
}

impl<R: Clone + Debug + 'static> Ticket<R> {
    /// Waits for the job's answer, for as long as it takes.
    pub async fn wait(self) -> Result<R, JobError> {
        self.endpoint.recv().await.1
    }
}

/// Starts a work queue and its pool. Returns once both are ready.
pub async fn start<J: Clone + Debug + 'static, R: Clone + Debug + 'static>(
    config: QueueConfig<J, R>,
) -> Result<WorkQueue<J, R>, Unavailable> {
    let node = config.node.unwrap_or_else(weft::node::current);
    let ready = Endpoint::<QueueReady>::ephemeral();
    let reply_to = ready.addr();
    task::spawn_on(node, "queue", serve(config, reply_to));
    match time::timeout(CALL_TIMEOUT, ready.recv()).await {
        Ok((_, QueueReady { addr, pool })) => Ok(WorkQueue {
            addr,
            pool,
            _types: std::marker::PhantomData,
        }),
        Err(_) => Err(Unavailable),
    }
}

impl<J: Clone + Debug + 'static, R: Clone + Debug + 'static> WorkQueue<J, R> {
    /// Submits a job (on the calling node's connection: jobs from one node are queued in the
    /// order submitted). The ticket gives its answer.
    pub fn submit(&self, job: J) -> Ticket<R> {
        let endpoint = Endpoint::ephemeral();
        let message: QueueMsg<J, R> = QueueMsg::Submit {
            job,
            reply_to: endpoint.addr(),
        };
        net::send(self.addr, message);
        Ticket { endpoint }
    }

    /// The pool under the queue.
    pub fn pool(&self) -> Pool {
        self.pool
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Ready,
    Queueing,
}

struct Queued<J> {
    id: u64,
    job: J,
    reply_to: Addr,
}

struct Server<J, R> {
    endpoint: Endpoint<QueueMsg<J, R>>,
    me: TaskId,
    pool: Pool,
    bugs: Bugs,
    mode: Mode,
    queue: VecDeque<Queued<J>>,
    /// Workers running a job, with the job's number.
    busy: BTreeMap<TaskId, u64>,
    /// Where each dispatched job's answer goes.
    answers: BTreeMap<u64, Addr>,
    next_job: u64,
    /// Workers the queue has asked to be told about when they end.
    monitored: BTreeSet<TaskId>,
}

async fn serve<J: Clone + Debug + 'static, R: Clone + Debug + 'static>(
    config: QueueConfig<J, R>,
    ready: Addr,
) {
    let endpoint = Endpoint::<QueueMsg<J, R>>::ephemeral();
    let queue_addr = endpoint.addr();
    let handler = config.handler.clone();
    let bugs = config.bugs;
    let pool_config = PoolConfig::new(config.size, 0, move |ctx| {
        worker(ctx, handler.clone(), queue_addr, bugs)
    })
    .name("pool")
    .bugs(bugs);
    let pool_config = match config.pool_node {
        Some(node) => pool_config.on(node),
        None => pool_config,
    };
    let Ok(pool) = crate::start(pool_config).await else {
        return;
    };
    let mut s = Server {
        endpoint,
        me: task::current(),
        pool,
        bugs,
        mode: Mode::Ready,
        queue: VecDeque::new(),
        busy: BTreeMap::new(),
        answers: BTreeMap::new(),
        next_job: 0,
        monitored: BTreeSet::new(),
    };
    s.endpoint.send(
        ready,
        QueueReady {
            addr: queue_addr,
            pool,
        },
    );
    loop {
        let (_, message) = s.endpoint.recv().await;
        match message {
            QueueMsg::Submit { job, reply_to } => s.submit(job, reply_to).await,
            QueueMsg::Done { worker, id, result } => s.done(worker, id, result).await,
            QueueMsg::Down { task } => s.down(task).await,
        }
    }
}

/// A worker of the queue's pool: runs each job it is sent and reports to the queue.
async fn worker<J: Clone + Debug + 'static, R: Clone + Debug + 'static>(
    ctx: crate::WorkerCtx<Run<J>>,
    handler: Handler<J, R>,
    queue: Addr,
    bugs: Bugs,
) {
    let me = ctx.me();
    loop {
        let (_, Run { id, job }) = ctx.endpoint.recv().await;
        let result = handler(job).await;
        if bugs.has(Bug::QueueCheckinRace) {
            // The old protocol: the worker checks itself in, then tells the queue.
            ctx.pool.checkin_nowait(me);
        }
        let done: QueueMsg<J, R> = QueueMsg::Done {
            worker: me,
            id,
            result,
        };
        net::send(queue, done);
    }
}

impl<J: Clone + Debug + 'static, R: Clone + Debug + 'static> Server<J, R> {
    fn bug(&self, bug: Bug) -> bool {
        self.bugs.has(bug)
    }

    /// Hands `job` to `worker`, watching the worker.
    fn dispatch(&mut self, worker: Worker, job: Queued<J>) {
        if self.monitored.insert(worker.task()) {
            let task = worker.task();
            task::monitor_notify(task, self.endpoint.addr(), move |_| {
                QueueMsg::<J, R>::Down { task }
            });
        }
        self.busy.insert(worker.task(), job.id);
        self.answers.insert(job.id, job.reply_to);
        worker.send(Run {
            id: job.id,
            job: job.job,
        });
    }

    /// A worker for the queue: at once if one is idle (`block` false), or waiting in the
    /// pool's line for as long as it takes.
    async fn acquire(&self, block: bool) -> Result<Worker, CheckoutError> {
        if !block || self.bug(Bug::QueueCheckinRace) {
            // (With the planted bug, the old design: always a non-blocking checkout.)
            return self.pool.checkout_for(self.me, Block::No).await;
        }
        loop {
            match self
                .pool
                .checkout_for(self.me, Block::Upto(ACQUIRE_TIMEOUT))
                .await
            {
                Ok(worker) => return Ok(worker),
                Err(_) => continue,
            }
        }
    }

    async fn submit(&mut self, job: J, reply_to: Addr) {
        self.next_job += 1;
        let job = Queued {
            id: self.next_job,
            job,
            reply_to,
        };
        if self.mode == Mode::Queueing {
            self.queue.push_back(job);
            return;
        }
        // Nobody busy means nobody will report back: wait for a worker.
        let block = self.busy.is_empty();
        match self.acquire(block).await {
            Ok(worker) => self.dispatch(worker, job),
            Err(_) => {
                self.mode = Mode::Queueing;
                self.queue.push_back(job);
            }
        }
    }

    async fn done(&mut self, worker: Worker, id: u64, result: R) {
        if let Some(reply_to) = self.answers.remove(&id) {
            self.endpoint.send(reply_to, Ok::<R, JobError>(result));
        }
        if self.busy.get(&worker.task()) == Some(&id) {
            self.busy.remove(&worker.task());
        }
        if self.bug(Bug::QueueCheckinRace) {
            // The worker checked itself in: ask the pool again for the next job.
            if !self.queue.is_empty() {
                if let Ok(next) = self.acquire(false).await {
                    let job = self.queue.pop_front().expect("not empty");
                    self.dispatch(next, job);
                }
            } else {
                self.mode = Mode::Ready;
            }
            return;
        }
        match self.queue.pop_front() {
            // The next job goes to the same worker; the queue stays Queueing.
            Some(job) => self.dispatch(worker, job),
            None => {
                let _ = self.pool.checkin(worker).await;
                self.mode = Mode::Ready;
            }
        }
    }

    async fn down(&mut self, task: TaskId) {
        let Some(id) = self.busy.remove(&task) else {
            return; // not running a job of ours
        };
        if let Some(reply_to) = self.answers.remove(&id) {
            self.endpoint
                .send(reply_to, Err::<R, JobError>(JobError::WorkerCrashed));
        }
        if !self.queue.is_empty() {
            // The pool replaces the dead worker; wait for it (or any other) in line.
            let block = self.busy.is_empty();
            if let Ok(worker) = self.acquire(block).await {
                let job = self.queue.pop_front().expect("not empty");
                self.dispatch(worker, job);
            }
        } else if self.busy.is_empty() && !self.bug(Bug::QueueRestartStuck) {
            self.mode = Mode::Ready;
        }
    }
}
