//! Running the pool model's commands against the real pool.

use super::{PoolCmd, PoolResult, Stamp, BLOCK_TIMEOUT, HOLDERS, SETTLE};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use weft::model::Vars;
use weft::net::Addr;
use weft::NodeId;
use weft::{task, time, Sim, TaskId};
use weft_pool::{
    Block, Bugs, CheckinError, CheckoutError, Pool, PoolConfig, Status, Worker, WorkerCtx,
};

/// The system under test: the node the pool runs on, the running pool, and the clients' tasks.
#[derive(Clone)]
pub struct PoolSystem {
    node: NodeId,
    bugs: Bugs,
    pool: Rc<RefCell<Option<Pool>>>,
    /// The owner of each client's checkouts, by the task running the client's commands: a
    /// task that lives as long as the test (each client is its own caller, as in poolboy's
    /// tests, but the test's branch tasks end before the final check).
    owners: Rc<RefCell<BTreeMap<TaskId, TaskId>>>,
    holders: Rc<RefCell<Vec<Option<TaskId>>>>,
    /// Tasks that ran commands (more than one: the case had parallel branches).
    runners: Rc<RefCell<BTreeSet<TaskId>>>,
    /// The deadlines of this case's blocking checkouts, with the clients' task indices.
    deadlines: Rc<RefCell<Vec<(usize, u64)>>>,
}

/// A worker that does nothing but exist (a connection, say), as poolboy's test worker.
async fn idle_worker(ctx: WorkerCtx<()>) {
    loop {
        ctx.endpoint.recv().await;
    }
}

/// A task that waits forever (a client, a stranger).
fn idler(name: &str) -> TaskId {
    task::spawn_on(NodeId::from_index(0), name, std::future::pending::<()>()).id()
}

impl PoolSystem {
    pub(super) fn new(sim: &mut Sim, bugs: Bugs) -> PoolSystem {
        let node = sim.add_node("pool-node", || async {});
        PoolSystem {
            node,
            bugs,
            pool: Rc::new(RefCell::new(None)),
            owners: Rc::new(RefCell::new(BTreeMap::new())),
            holders: Rc::new(RefCell::new(vec![None; usize::from(HOLDERS)])),
            runners: Rc::new(RefCell::new(BTreeSet::new())),
            deadlines: Rc::new(RefCell::new(Vec::new())),
        }
    }

    /// Notes the deadline of a blocking checkout the calling client starts now.
    pub(super) fn note_deadline(&self, deadline: u64) {
        let client = task::current().index();
        self.deadlines.borrow_mut().push((client, deadline));
    }

    /// The deadlines of this case's blocking checkouts so far.
    pub(super) fn deadlines(&self) -> std::cell::Ref<'_, Vec<(usize, u64)>> {
        self.deadlines.borrow()
    }

    /// Whether commands ran in more than one task (then the invariant waits for the pool to
    /// settle: in-flight cancels and notices).
    pub(super) fn concurrent(&self) -> bool {
        let runners = self.runners.borrow();
        runners.len() > 1 || !runners.contains(&task::current())
    }

    fn pool(&self) -> Option<Pool> {
        *self.pool.borrow()
    }

    fn client(&self) -> TaskId {
        let runner = task::current();
        let mut owners = self.owners.borrow_mut();
        let n = owners.len();
        *owners
            .entry(runner)
            .or_insert_with(|| idler(&format!("owner {}", n + 1)))
    }

    fn holder(&self, h: u8) -> TaskId {
        let mut holders = self.holders.borrow_mut();
        *holders[usize::from(h)].get_or_insert_with(|| idler(&format!("holder {h}")))
    }

    pub(super) async fn status(&self) -> Option<Status> {
        self.pool()?.status().await.ok()
    }

    async fn checkout(&self, pool: Pool, owner: TaskId, block: Block) -> PoolResult {
        let called_ns = time::now_ns();
        let result = pool.checkout_for(owner, block).await;
        let stamp = Stamp {
            client: task::current().index(),
            called_ns,
            returned_ns: time::now_ns(),
        };
        match result {
            Ok(worker) => PoolResult::Worker(worker),
            Err(CheckoutError::Full) => PoolResult::Full(stamp),
            Err(CheckoutError::Timeout) => PoolResult::Timeout(stamp),
            Err(CheckoutError::Unavailable) => PoolResult::Unavailable,
        }
    }

    /// Checks in the workers of `vars` that the test still holds (the liveness phase).
    pub(super) async fn check_in_all(&self, held: &[weft::model::Var], vars: &Vars<PoolResult>) {
        let Some(pool) = self.pool() else {
            return;
        };
        for var in held {
            if let Some(PoolResult::Worker(worker)) = vars.get(*var) {
                let _ = pool.checkin(*worker).await;
            }
        }
    }

    async fn checkin(&self, pool: Pool, worker: Worker) -> PoolResult {
        match pool.checkin(worker).await {
            Ok(()) => PoolResult::CheckedIn,
            Err(CheckinError::NotCheckedOut) => PoolResult::NotCheckedOut,
            Err(CheckinError::Unavailable) => PoolResult::Unavailable,
        }
    }

    fn worker(vars: &Vars<PoolResult>, var: weft::model::Var) -> Option<Worker> {
        match vars.get(var) {
            Some(PoolResult::Worker(w) | PoolResult::Killed(w)) => Some(*w),
            _ => None,
        }
    }

    pub(super) async fn run(&self, command: &PoolCmd, vars: &Vars<PoolResult>) -> PoolResult {
        self.runners.borrow_mut().insert(task::current());
        if let PoolCmd::Start { size, max_overflow } = command {
            return self.start(*size, *max_overflow).await;
        }
        let Some(pool) = self.pool() else {
            return PoolResult::Unavailable;
        };
        match command {
            PoolCmd::Start { .. } => unreachable!("handled above"),
            PoolCmd::Stop => {
                let stopped = pool.stop().await;
                *self.pool.borrow_mut() = None;
                match stopped {
                    Ok(()) => PoolResult::Ok,
                    Err(_) => PoolResult::Unavailable,
                }
            }
            PoolCmd::CheckoutNonblock => self.checkout(pool, self.client(), Block::No).await,
            PoolCmd::CheckoutBlock => {
                self.checkout(pool, self.client(), Block::Upto(BLOCK_TIMEOUT))
                    .await
            }
            PoolCmd::HolderCheckout(h) => self.checkout(pool, self.holder(*h), Block::No).await,
            PoolCmd::Checkin(v) | PoolCmd::CheckinStale(v) => match Self::worker(vars, *v) {
                Some(worker) => self.checkin(pool, worker).await,
                None => PoolResult::NoWorker,
            },
            PoolCmd::CheckinForeign => {
                let stranger = idler("stranger");
                let fake = Worker::new(stranger, Addr::new(NodeId::from_index(0), 0));
                self.checkin(pool, fake).await
            }
            PoolCmd::KillWorker(v) => match Self::worker(vars, *v) {
                Some(worker) => {
                    task::kill(worker.task());
                    // Its exit notice comes from the pool's node: let the pool see it.
                    time::sleep(SETTLE).await;
                    PoolResult::Ok
                }
                None => PoolResult::NoWorker,
            },
            PoolCmd::KillIdleWorker => self.kill_idle_worker(pool).await,
            PoolCmd::SpuriousExit => self.spurious_exit(pool).await,
            PoolCmd::KillHolder(h) => {
                let holder = self.holder(*h);
                self.holders.borrow_mut()[usize::from(*h)] = None;
                task::kill(holder);
                task::monitor(holder).await;
                PoolResult::Ok
            }
        }
    }

    async fn start(&self, size: u8, max_overflow: u8) -> PoolResult {
        let config = PoolConfig::new(usize::from(size), usize::from(max_overflow), idle_worker)
            .on(self.node)
            .bugs(self.bugs);
        match weft_pool::start(config).await {
            Ok(pool) => {
                *self.pool.borrow_mut() = Some(pool);
                PoolResult::Ok
            }
            Err(_) => PoolResult::Unavailable,
        }
    }

    /// Checks an idle worker out and in, then kills it: the pool must replace it.
    async fn kill_idle_worker(&self, pool: Pool) -> PoolResult {
        let worker = match self.checkout(pool, self.client(), Block::No).await {
            PoolResult::Worker(worker) => worker,
            other => return other,
        };
        if pool.checkin(worker).await.is_err() {
            return PoolResult::NotCheckedOut;
        }
        task::kill(worker.task());
        time::sleep(SETTLE).await;
        PoolResult::Killed(worker)
    }

    /// A task linked to the pool dies: the pool must not take it for a worker.
    async fn spurious_exit(&self, pool: Pool) -> PoolResult {
        let linked = idler("linked");
        if pool.link(linked).await.is_err() {
            return PoolResult::Unavailable;
        }
        task::kill(linked);
        // Its exit notice leaves from this node before anything sent later.
        task::monitor(linked).await;
        PoolResult::Ok
    }
}
