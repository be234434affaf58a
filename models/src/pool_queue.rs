//! A model of the work queue above the pool ([`weft_pool::queue`]), after riak_core's
//! `worker_pool_pulse` test: submitted work, some of which kills its worker, must all get
//! done.
//!
//! Commands: start (a queue over a pool of 1 to 3 workers), submit a job (a value, which the
//! worker returns after that many microseconds, or `die`, which kills the worker running it),
//! and await every job submitted so far. Submitting does not wait, so jobs pile up in the queue
//! while workers run. Postcondition of await: each job answered, values with themselves and
//! `die` with [`JobError::WorkerCrashed`]. A queue that loses track of its work never answers,
//! and the run ends as a deadlock: nothing can run and no timer is pending.

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;
use std::time::Duration;
use weft::model::{Gen, StateMachine, Var, Vars};
use weft::NodeId;
use weft::{task, Config, Sim};
use weft_pool::queue::{self, JobError, QueueConfig, Ticket, WorkQueue};
use weft_pool::Bugs;

/// A job.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub enum Work {
    /// Returns the value after that many microseconds.
    Value(u8),
    /// Kills the worker running it (after a microsecond of work).
    Die,
}

impl fmt::Debug for Work {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Work::Value(n) => write!(f, "{n}"),
            Work::Die => write!(f, "die"),
        }
    }
}

/// Runs a job inside a worker.
async fn perform(work: Work) -> u8 {
    match work {
        Work::Value(n) => {
            weft::time::sleep(Duration::from_micros(u64::from(n))).await;
            n
        }
        Work::Die => {
            weft::time::sleep(Duration::from_micros(1)).await;
            task::kill(task::current());
            std::future::pending().await
        }
    }
}

/// The model state.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct QueueState {
    /// Workers in the queue's pool, once started.
    pub size: Option<u8>,
    /// Jobs submitted and not yet awaited, with their submit commands' vars.
    pub pending: Vec<(Var, Work)>,
}

/// A command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QueueCmd {
    /// Start a queue over a pool of `size` workers.
    Start {
        /// Workers.
        size: u8,
    },
    /// Submit a job (without waiting for it).
    Submit(Work),
    /// Wait for every pending job's answer.
    Await,
}

/// A result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QueueResult {
    /// Started, or submitted.
    Ok,
    /// The answers of the pending jobs, in submission order.
    Answers(Vec<Result<u8, JobError>>),
    /// The queue did not start.
    Unavailable,
}

/// The system: the queue's node and its pool's node, the queue, and the pending tickets.
#[derive(Clone)]
pub struct QueueSystem {
    queue_node: NodeId,
    pool_node: NodeId,
    queue: Rc<RefCell<Option<WorkQueue<Work, u8>>>>,
    tickets: Rc<RefCell<Vec<Ticket<u8>>>>,
}

/// The work-queue model.
pub struct QueueModel {
    bugs: Bugs,
}

impl QueueModel {
    /// The model, with `bugs` planted in the queue and its pool.
    pub fn new(bugs: Bugs) -> QueueModel {
        QueueModel { bugs }
    }
}

fn answer(work: Work) -> Result<u8, JobError> {
    match work {
        Work::Value(n) => Ok(n),
        Work::Die => Err(JobError::WorkerCrashed),
    }
}

impl StateMachine for QueueModel {
    type State = QueueState;
    type Command = QueueCmd;
    type Result = QueueResult;
    type System = QueueSystem;

    fn config(&self) -> Config {
        crate::pool::network()
    }

    fn setup(&self, sim: &mut Sim) -> QueueSystem {
        QueueSystem {
            queue_node: sim.add_node("queue-node", || async {}),
            pool_node: sim.add_node("pool-node", || async {}),
            queue: Rc::new(RefCell::new(None)),
            tickets: Rc::new(RefCell::new(Vec::new())),
        }
    }

    fn init(&self) -> QueueState {
        QueueState::default()
    }

    fn command(&self, state: &QueueState, gen: &mut Gen) -> QueueCmd {
        if state.size.is_none() {
            return QueueCmd::Start {
                size: 1 + gen.below(3) as u8,
            };
        }
        // One decision per command, from a fixed list (shrinking turns a job into a simpler
        // one without disturbing the commands after it); await with nothing pending is skipped
        // by its precondition.
        gen.weighted(&[
            (10, QueueCmd::Submit(Work::Value(0))),
            (10, QueueCmd::Submit(Work::Value(1))),
            (10, QueueCmd::Submit(Work::Value(2))),
            (6, QueueCmd::Submit(Work::Die)),
            (6, QueueCmd::Await),
        ])
    }

    fn precondition(&self, state: &QueueState, command: &QueueCmd) -> bool {
        match command {
            QueueCmd::Start { .. } => state.size.is_none(),
            QueueCmd::Submit(_) => state.size.is_some(),
            QueueCmd::Await => !state.pending.is_empty(),
        }
    }

    fn next_state(&self, state: &QueueState, command: &QueueCmd, var: Var) -> QueueState {
        let mut s = state.clone();
        match command {
            QueueCmd::Start { size } => s.size = Some(*size),
            QueueCmd::Submit(work) => s.pending.push((var, *work)),
            QueueCmd::Await => s.pending.clear(),
        }
        s
    }

    fn postcondition(
        &self,
        state: &QueueState,
        command: &QueueCmd,
        result: &QueueResult,
        _: &Vars<QueueResult>,
    ) -> Result<(), String> {
        let wanted = match command {
            QueueCmd::Start { .. } | QueueCmd::Submit(_) => QueueResult::Ok,
            QueueCmd::Await => {
                QueueResult::Answers(state.pending.iter().map(|(_, w)| answer(*w)).collect())
            }
        };
        if *result == wanted {
            Ok(())
        } else {
            Err(format!("expected {wanted:?}, got {result:?}"))
        }
    }

    async fn run(
        &self,
        system: &QueueSystem,
        command: &QueueCmd,
        _: &Vars<QueueResult>,
    ) -> QueueResult {
        match command {
            QueueCmd::Start { size } => {
                let config = QueueConfig::new(usize::from(*size), perform)
                    .on(system.queue_node, system.pool_node)
                    .bugs(self.bugs);
                match queue::start(config).await {
                    Ok(q) => {
                        *system.queue.borrow_mut() = Some(q);
                        QueueResult::Ok
                    }
                    Err(_) => QueueResult::Unavailable,
                }
            }
            QueueCmd::Submit(work) => {
                let queue = system.queue.borrow().clone();
                let Some(queue) = queue else {
                    return QueueResult::Unavailable;
                };
                system.tickets.borrow_mut().push(queue.submit(*work));
                QueueResult::Ok
            }
            QueueCmd::Await => {
                let tickets = std::mem::take(&mut *system.tickets.borrow_mut());
                let mut answers = Vec::new();
                for ticket in tickets {
                    answers.push(ticket.wait().await);
                }
                QueueResult::Answers(answers)
            }
        }
    }

    fn blocking(&self, _: &QueueState, command: &QueueCmd) -> bool {
        *command == QueueCmd::Await
    }

    fn describe(&self, command: &QueueCmd) -> String {
        match command {
            QueueCmd::Start { size } => format!("start(pool size {size})"),
            QueueCmd::Submit(work) => format!("submit({work:?})"),
            QueueCmd::Await => "await all".to_string(),
        }
    }
}
