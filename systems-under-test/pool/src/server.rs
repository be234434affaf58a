//! The pool server: one task that owns the pool's state and answers clients' messages, in the
//! manner of poolboy's gen_server.
//!
//! State: the idle queue (FIFO), the leases (checked-out worker -> owner, request, monitor),
//! the waiting checkouts (FIFO, each with a deadline), the monitors the pool holds on callers,
//! and the overflow count. Every worker is watched (its exit notice comes as a message, as an
//! Erlang link with exits trapped); every owner and waiter is monitored (a "down" message).
//! Monitors cannot be taken back at the runtime level, so the pool keeps the set of live ones:
//! releasing a monitor removes it from the set and a later notice for it is ignored, as
//! `erlang:demonitor(Ref, [flush])`.

use crate::bugs::{Bug, Bugs};
use crate::client::{Factory, Pool, PoolConfig, PoolState, Status, Worker, WorkerCtx};
use crate::protocol::{Call, PoolMsg, Ready, Reply};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt::Debug;
use weft::net::{Addr, Endpoint, Request};
use weft::task;
use weft::time::Instant;
use weft::TaskId;

/// A checked-out worker.
struct Lease {
    worker: Worker,
    /// The checkout request's reply address: its identity for cancels.
    request: Addr,
    monitor: u64,
}

/// A checkout waiting in line.
struct Waiter {
    call: Request<Call, Reply>,
    owner: TaskId,
    monitor: u64,
    deadline: Instant,
}

struct Server<M> {
    addr: Addr,
    bugs: Bugs,
    size: usize,
    max_overflow: usize,
    factory: Factory<M>,
    /// Every live worker the pool started, by task.
    workers: BTreeMap<TaskId, Worker>,
    idle: VecDeque<Worker>,
    /// Leases by the worker's task.
    leases: BTreeMap<TaskId, Lease>,
    waiting: VecDeque<Waiter>,
    /// Live monitors: reference -> watched task.
    monitors: BTreeMap<u64, TaskId>,
    overflow: usize,
    /// Tasks linked with [`Pool::link`].
    linked: BTreeSet<TaskId>,
    /// Dismissed workers (unlinked: their exit notices are expected and ignored).
    dismissed: BTreeSet<TaskId>,
    /// Workers killed because their owner died, whose exit is still to come (planted bug).
    dying: BTreeSet<TaskId>,
    next_monitor: u64,
    serial: u64,
}

/// The server task: binds the pool's mailbox, starts `size` workers, tells `ready` its address,
/// then serves until stopped.
pub(crate) async fn serve<M: Clone + Debug + 'static>(config: PoolConfig<M>, ready: Addr) {
    let endpoint = Endpoint::<PoolMsg>::ephemeral();
    let mut s = Server {
        addr: endpoint.addr(),
        bugs: config.bugs,
        size: config.size,
        max_overflow: config.max_overflow,
        factory: config.factory,
        workers: BTreeMap::new(),
        idle: VecDeque::new(),
        leases: BTreeMap::new(),
        waiting: VecDeque::new(),
        monitors: BTreeMap::new(),
        overflow: 0,
        linked: BTreeSet::new(),
        dismissed: BTreeSet::new(),
        dying: BTreeSet::new(),
        next_monitor: 0,
        serial: 0,
    };
    for _ in 0..s.size {
        let worker = s.new_worker();
        s.idle.push_back(worker);
    }
    endpoint.send(ready, Ready(s.addr));
    loop {
        let (_, message) = endpoint.recv().await;
        match message {
            PoolMsg::Call(call) => {
                if let Call::Stop = call.body {
                    s.shutdown();
                    call.reply(Reply::Stopped);
                    return;
                }
                s.handle_call(call);
            }
            PoolMsg::Cancel { request, owner } => s.cancel(request, owner),
            PoolMsg::Checkin(worker) => {
                let _ = s.checkin(worker);
            }
            PoolMsg::Exit { task, .. } => s.exit(task),
            PoolMsg::Down { monitor, .. } => s.down(monitor),
        }
        s.check_invariants();
    }
}

impl<M: Clone + Debug + 'static> Server<M> {
    fn bug(&self, bug: Bug) -> bool {
        self.bugs.has(bug)
    }

    /// The state invariants of the module doc, asserted after every message so that a broken
    /// invariant fails at the message that broke it. Off while a planted bug is on: planted
    /// bugs break these on purpose, and the model must be the one to find them.
    fn check_invariants(&self) {
        if !self.bugs.is_empty() {
            return;
        }
        weft::ensure!(
            self.overflow <= self.max_overflow,
            "pool: overflow {} above max_overflow {}",
            self.overflow,
            self.max_overflow
        );
        weft::ensure!(
            self.monitors.len() == self.leases.len() + self.waiting.len(),
            "pool: {} monitors for {} leases and {} waiters",
            self.monitors.len(),
            self.leases.len(),
            self.waiting.len()
        );
        for worker in &self.idle {
            weft::ensure!(
                !self.leases.contains_key(&worker.task()),
                "pool: {worker:?} is both idle and checked out"
            );
            weft::ensure!(
                self.workers.contains_key(&worker.task()),
                "pool: idle {worker:?} is not a live worker of the pool"
            );
        }
        for (task, lease) in &self.leases {
            weft::ensure!(
                self.workers.contains_key(task) && self.monitors.contains_key(&lease.monitor),
                "pool: the lease of {task} has no live worker or no monitor"
            );
        }
        weft::ensure!(
            self.idle.len() + self.leases.len() == self.workers.len(),
            "pool: {} idle and {} checked out, but {} live workers",
            self.idle.len(),
            self.leases.len(),
            self.workers.len()
        );
    }

    fn handle_call(&mut self, call: Request<Call, Reply>) {
        match call.body.clone() {
            Call::Checkout { owner, deadline } => self.checkout(call, owner, deadline),
            Call::Checkin(worker) => {
                let reply = if self.checkin(worker) {
                    Reply::CheckedIn
                } else {
                    Reply::NotCheckedOut
                };
                call.reply(reply);
            }
            Call::Status => call.reply(Reply::Status(self.status())),
            Call::Link(task) => {
                self.linked.insert(task);
                let to = self.addr;
                task::monitor_notify(task, to, move |reason| PoolMsg::Exit { task, reason });
                call.reply(Reply::Linked);
            }
            Call::Stop => unreachable!("handled by the loop"),
        }
    }

    /// Starts a worker task on the pool's node and watches it.
    fn new_worker(&mut self) -> Worker {
        self.serial += 1;
        let endpoint = Endpoint::<M>::ephemeral();
        let addr = endpoint.addr();
        let pool = Pool {
            addr: self.addr,
            task: task::current(),
        };
        let future = (self.factory)(WorkerCtx { endpoint, pool });
        let task = task::spawn_named(format!("worker {}", self.serial), future).id();
        let to = self.addr;
        task::monitor_notify(task, to, move |reason| PoolMsg::Exit { task, reason });
        let worker = Worker::new(task, addr);
        self.workers.insert(task, worker);
        worker
    }

    /// Kills a worker the pool no longer needs (an overflow worker on checkin).
    fn dismiss(&mut self, worker: Worker) {
        self.workers.remove(&worker.task());
        self.dismissed.insert(worker.task());
        task::kill(worker.task());
    }

    fn monitor(&mut self, task: TaskId) -> u64 {
        let monitor = self.next_monitor;
        self.next_monitor += 1;
        self.monitors.insert(monitor, task);
        let to = self.addr;
        task::monitor_notify(task, to, move |_| PoolMsg::Down { monitor, task });
        monitor
    }

    fn demonitor(&mut self, monitor: u64) {
        self.monitors.remove(&monitor);
    }

    fn lease(&mut self, worker: Worker, request: Addr, monitor: u64) {
        let lease = Lease {
            worker,
            request,
            monitor,
        };
        self.leases.insert(worker.task(), lease);
    }

    fn checkout(&mut self, call: Request<Call, Reply>, owner: TaskId, deadline: Option<Instant>) {
        let request = call.reply_to();
        let worker = if let Some(worker) = self.idle.pop_front() {
            worker
        } else if self.overflow < self.max_overflow {
            self.overflow += 1;
            self.new_worker()
        } else {
            match deadline {
                None => call.reply(Reply::Full),
                Some(deadline) => {
                    self.shed_expired();
                    let monitor = self.monitor(owner);
                    self.waiting.push_back(Waiter {
                        call,
                        owner,
                        monitor,
                        deadline,
                    });
                }
            }
            return;
        };
        let monitor = self.monitor(owner);
        self.lease(worker, request, monitor);
        call.reply(Reply::Worker(worker));
    }

    /// Drops a waiter whose caller has gone (timed out or dead), releasing its monitor.
    fn drop_waiter(&mut self, waiter: Waiter) {
        if !self.bug(Bug::WaiterMonitorLeak) {
            self.demonitor(waiter.monitor);
        }
    }

    /// Drops every expired waiter, so the line does not grow with abandoned checkouts.
    fn shed_expired(&mut self) {
        let now = Instant::now();
        let (expired, live): (VecDeque<Waiter>, VecDeque<Waiter>) =
            std::mem::take(&mut self.waiting)
                .into_iter()
                .partition(|w| w.deadline <= now);
        self.waiting = live;
        for waiter in expired {
            self.drop_waiter(waiter);
        }
    }

    /// Hands `worker` to `waiter`: a lease under `key` (the worker's task), reusing the
    /// waiter's monitor on its caller.
    fn serve_waiter(&mut self, worker: Worker, waiter: Waiter, key: TaskId) {
        let monitor = if self.bug(Bug::WaiterMonitorLeak) {
            self.monitor(waiter.owner)
        } else {
            waiter.monitor
        };
        let lease = Lease {
            worker,
            request: waiter.call.reply_to(),
            monitor,
        };
        self.leases.insert(key, lease);
        waiter.call.reply(Reply::Worker(worker));
    }

    /// The first waiter whose caller is still waiting, dropping expired ones.
    fn next_waiter(&mut self) -> Option<Waiter> {
        while let Some(waiter) = self.waiting.pop_front() {
            if waiter.deadline > Instant::now() || self.bug(Bug::ServeExpiredWaiter) {
                return Some(waiter);
            }
            self.drop_waiter(waiter);
        }
        None
    }

    /// A checkin: the lease ends and the worker goes to the next waiter, is dismissed (an
    /// overflow worker), or joins the idle queue. Returns whether `worker` was checked out.
    fn checkin(&mut self, worker: Worker) -> bool {
        match self.leases.remove(&worker.task()) {
            Some(lease) => {
                self.demonitor(lease.monitor);
                self.release(lease.worker);
                true
            }
            None if self.bug(Bug::ForeignCheckinAccepted) => {
                self.release(worker);
                true
            }
            None => false,
        }
    }

    /// A worker no longer leased goes to the next waiter, or away.
    fn release(&mut self, worker: Worker) {
        while let Some(waiter) = self.waiting.pop_front() {
            if waiter.deadline <= Instant::now() && !self.bug(Bug::ServeExpiredWaiter) {
                self.drop_waiter(waiter);
                if self.bug(Bug::CheckinDropsWorker) {
                    // The old code re-ran the whole checkin here, after the lease was gone.
                    let _ = self.checkin(worker);
                    return;
                }
                continue;
            }
            self.serve_waiter(worker, waiter, worker.task());
            return;
        }
        if self.overflow > 0 {
            self.dismiss(worker);
            self.overflow -= 1;
        } else {
            self.idle.push_back(worker);
        }
    }

    /// A timed-out checkout's cancel: if the pool handed a worker to that request just as its
    /// caller gave up, the worker comes back. (A waiter still in line has expired and is shed
    /// when reached.)
    fn cancel(&mut self, request: Addr, owner: TaskId) {
        if self.bug(Bug::CheckoutTimeoutLeak) {
            // Keyed by caller: drops the caller's waiters, never looks at leases.
            let (gone, kept): (VecDeque<Waiter>, VecDeque<Waiter>) =
                std::mem::take(&mut self.waiting)
                    .into_iter()
                    .partition(|w| w.owner == owner);
            self.waiting = kept;
            for waiter in gone {
                self.drop_waiter(waiter);
            }
            return;
        }
        let leased = self
            .leases
            .values()
            .find(|l| l.request == request)
            .map(|l| l.worker);
        if let Some(worker) = leased {
            let _ = self.checkin(worker);
        }
    }

    /// An owner or a waiter's caller ended.
    fn down(&mut self, monitor: u64) {
        if self.monitors.remove(&monitor).is_none() {
            return; // released already
        }
        let leased = self
            .leases
            .iter()
            .find(|(_, l)| l.monitor == monitor)
            .map(|(key, l)| (*key, l.worker));
        if let Some((key, worker)) = leased {
            self.leases.remove(&key);
            if self.bug(Bug::StaleCountOnOwnerDown) {
                // The worker may be in a bad state: kill it, and let its exit notice restore
                // the count.
                self.dying.insert(worker.task());
                task::kill(worker.task());
            } else {
                self.release(worker);
            }
            return;
        }
        self.waiting.retain(|w| w.monitor != monitor);
    }

    /// A worker or a linked task ended.
    fn exit(&mut self, task: TaskId) {
        if self.dismissed.remove(&task) {
            return;
        }
        let checked_out = self.leases.contains_key(&task) || self.dying.remove(&task);
        if !checked_out {
            if self.bug(Bug::UnknownExitWipesMonitors) {
                self.leases.clear();
            }
            if self.bug(Bug::SpuriousExitCounted) {
                self.workers.remove(&task);
                self.linked.remove(&task);
                self.checked_out_worker_died();
                return;
            }
        }
        if self.workers.remove(&task).is_none() {
            self.linked.remove(&task); // an unrelated linked task: nothing to do
            return;
        }
        if let Some(lease) = self.leases.remove(&task) {
            self.demonitor(lease.monitor);
            self.checked_out_worker_died();
        } else if checked_out {
            self.checked_out_worker_died();
        } else {
            // An idle worker died: replace it.
            self.idle.retain(|w| w.task() != task);
            let worker = self.new_worker();
            self.idle.push_back(worker);
        }
    }

    /// A checked-out worker died: its replacement goes to the next waiter; in overflow it is
    /// simply gone; otherwise a replacement joins the idle queue.
    fn checked_out_worker_died(&mut self) {
        if let Some(waiter) = self.next_waiter() {
            let worker = self.new_worker();
            let key = if self.bug(Bug::ReplacementWrongOwner) {
                waiter.owner
            } else {
                worker.task()
            };
            self.serve_waiter(worker, waiter, key);
        } else if self.overflow > 0 {
            if !self.bug(Bug::ExitShrinksCapacity) {
                self.overflow -= 1;
            }
        } else {
            let worker = self.new_worker();
            self.idle.push_back(worker);
        }
    }

    fn state_name(&self) -> PoolState {
        if self.overflow == 0 {
            if !self.idle.is_empty() {
                PoolState::Ready
            } else if self.max_overflow == 0 {
                PoolState::Full
            } else {
                PoolState::Overflow
            }
        } else if self.overflow >= self.max_overflow {
            PoolState::Full
        } else {
            PoolState::Overflow
        }
    }

    fn status(&self) -> Status {
        Status {
            state: self.state_name(),
            idle: self.idle.len(),
            overflow: self.overflow,
            checked_out: self.leases.keys().copied().collect(),
            waiting: self.waiting.len(),
            monitors: self.monitors.len(),
        }
    }

    /// Stops: every worker and linked task is killed.
    fn shutdown(&mut self) {
        let tasks: Vec<TaskId> = self
            .workers
            .keys()
            .chain(self.linked.iter())
            .chain(self.dying.iter())
            .copied()
            .collect();
        for task in tasks {
            task::kill(task);
        }
    }
}
