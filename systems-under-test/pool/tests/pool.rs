//! The pool library's behaviour, one property per test, in the default (sequential, in-order)
//! simulation.

use std::future::Future;
use std::time::Duration;
use weft::NodeId;
use weft::{task, time, Config, Sim, Source, TaskId};
use weft_pool::queue::{self, JobError, QueueConfig};
use weft_pool::{
    Block, CheckinError, CheckoutError, Pool, PoolConfig, PoolState, Status, Worker, WorkerCtx,
};

const SHORT: Duration = Duration::from_millis(100);

async fn idle_worker(ctx: WorkerCtx<()>) {
    loop {
        ctx.endpoint.recv().await;
    }
}

/// Runs `test` on the driver node with a pool node beside it; fails on any run failure.
fn run<T: 'static, F: Future<Output = T> + 'static>(test: impl FnOnce(NodeId) -> F) -> T {
    let mut sim = Sim::new(Config::default(), Source::zeros());
    let node = sim.add_node("pool", || async {});
    let (report, out) = sim.run(test(node));
    if let Some(failure) = report.outcome.failure() {
        panic!("run failed: {failure:?}");
    }
    out.expect("the test finished")
}

async fn pool(node: NodeId, size: usize, max_overflow: usize) -> Pool {
    weft_pool::start(PoolConfig::new(size, max_overflow, idle_worker).on(node))
        .await
        .expect("the pool starts")
}

async fn status(pool: &Pool) -> Status {
    pool.status().await.expect("the pool answers")
}

fn spawn_idler() -> TaskId {
    task::spawn(std::future::pending::<()>()).id()
}

#[test]
fn idle_workers_are_handed_out_first_in_first_out() {
    run(|node| async move {
        let p = pool(node, 2, 0).await;
        let a = p.checkout(Block::No).await.unwrap();
        let b = p.checkout(Block::No).await.unwrap();
        assert_ne!(a, b);
        p.checkin(b).await.unwrap();
        p.checkin(a).await.unwrap();
        assert_eq!(p.checkout(Block::No).await, Ok(b));
        assert_eq!(p.checkout(Block::No).await, Ok(a));
    });
}

#[test]
fn overflow_workers_are_started_on_demand_and_dismissed_on_checkin() {
    run(|node| async move {
        let p = pool(node, 1, 1).await;
        let a = p.checkout(Block::No).await.unwrap();
        let s = status(&p).await;
        assert_eq!((s.state, s.idle, s.overflow), (PoolState::Overflow, 0, 0));
        let b = p.checkout(Block::No).await.unwrap();
        let s = status(&p).await;
        assert_eq!((s.state, s.idle, s.overflow), (PoolState::Full, 0, 1));
        assert_eq!(p.checkout(Block::No).await, Err(CheckoutError::Full));
        p.checkin(b).await.unwrap();
        time::sleep(SHORT).await;
        assert!(
            !task::is_alive(b.task()),
            "the overflow worker was dismissed"
        );
        let s = status(&p).await;
        assert_eq!((s.state, s.idle, s.overflow), (PoolState::Overflow, 0, 0));
        assert_eq!(s.checked_out, vec![a.task()]);
    });
}

#[test]
fn checkin_of_a_task_that_is_not_a_checked_out_worker_is_refused_without_change() {
    run(|node| async move {
        let p = pool(node, 2, 1).await;
        let a = p.checkout(Block::No).await.unwrap();
        let before = status(&p).await;
        let stranger = Worker::new(spawn_idler(), a.addr());
        assert_eq!(p.checkin(stranger).await, Err(CheckinError::NotCheckedOut));
        p.checkin(a).await.unwrap();
        let after = status(&p).await;
        assert_eq!(
            p.checkin(a).await,
            Err(CheckinError::NotCheckedOut),
            "twice"
        );
        assert_eq!(status(&p).await, after);
        assert_eq!(before.idle + 1, after.idle);
    });
}

#[test]
fn a_blocking_checkout_gets_the_next_worker_checked_in() {
    run(|node| async move {
        let p = pool(node, 1, 0).await;
        let held = p.checkout(Block::No).await.unwrap();
        let waiter =
            task::spawn(async move { p.checkout(Block::Upto(Duration::from_secs(1))).await });
        time::sleep(SHORT).await;
        assert_eq!(status(&p).await.waiting, 1);
        p.checkin(held).await.unwrap();
        assert_eq!(waiter.await.unwrap(), Ok(held));
    });
}

#[test]
fn a_waiter_whose_checkout_timed_out_is_never_served() {
    run(|node| async move {
        let p = pool(node, 1, 0).await;
        let held = p.checkout(Block::No).await.unwrap();
        assert_eq!(
            p.checkout(Block::Upto(SHORT)).await,
            Err(CheckoutError::Timeout)
        );
        p.checkin(held).await.unwrap();
        let s = status(&p).await;
        assert_eq!(
            (s.idle, s.checked_out.len(), s.waiting, s.monitors),
            (1, 0, 0, 0)
        );
        assert_eq!(p.checkout(Block::No).await, Ok(held));
    });
}

#[test]
fn an_owner_that_dies_gives_its_workers_back() {
    run(|node| async move {
        let p = pool(node, 2, 0).await;
        let holder = task::spawn(async move {
            let a = p.checkout(Block::No).await.unwrap();
            let b = p.checkout(Block::No).await.unwrap();
            std::future::pending::<()>().await;
            (a, b)
        });
        time::sleep(SHORT).await;
        assert_eq!(status(&p).await.checked_out.len(), 2);
        holder.abort();
        time::sleep(SHORT).await;
        let s = status(&p).await;
        assert_eq!(
            (s.state, s.idle, s.checked_out.len(), s.monitors),
            (PoolState::Ready, 2, 0, 0)
        );
    });
}

#[test]
fn a_waiter_whose_caller_dies_leaves_the_line() {
    run(|node| async move {
        let p = pool(node, 1, 0).await;
        let held = p.checkout(Block::No).await.unwrap();
        let waiter =
            task::spawn(async move { p.checkout(Block::Upto(Duration::from_secs(1))).await });
        time::sleep(SHORT).await;
        waiter.abort();
        time::sleep(SHORT).await;
        let s = status(&p).await;
        assert_eq!((s.waiting, s.monitors), (0, 1));
        p.checkin(held).await.unwrap();
        assert_eq!(status(&p).await.idle, 1);
    });
}

#[test]
fn a_worker_that_dies_is_replaced() {
    run(|node| async move {
        let p = pool(node, 2, 0).await;
        let a = p.checkout(Block::No).await.unwrap();
        task::kill(a.task());
        time::sleep(SHORT).await;
        let s = status(&p).await;
        assert_eq!((s.idle, s.checked_out.len(), s.monitors), (2, 0, 0));
        // An idle one too.
        let b = p.checkout(Block::No).await.unwrap();
        p.checkin(b).await.unwrap();
        task::kill(b.task());
        time::sleep(SHORT).await;
        assert_eq!(status(&p).await.idle, 2);
        let c = p.checkout(Block::No).await.unwrap();
        let d = p.checkout(Block::No).await.unwrap();
        assert!(task::is_alive(c.task()) && task::is_alive(d.task()));
    });
}

#[test]
fn in_overflow_a_dead_worker_is_not_replaced_but_counted_off() {
    run(|node| async move {
        let p = pool(node, 0, 2).await;
        let a = p.checkout(Block::No).await.unwrap();
        let _b = p.checkout(Block::No).await.unwrap();
        task::kill(a.task());
        time::sleep(SHORT).await;
        let s = status(&p).await;
        assert_eq!((s.state, s.idle, s.overflow), (PoolState::Overflow, 0, 1));
        assert!(p.checkout(Block::No).await.is_ok(), "capacity is back");
    });
}

#[test]
fn a_transaction_always_checks_the_worker_back_in() {
    run(|node| async move {
        let p = pool(node, 1, 0).await;
        let out = p.transaction(SHORT, |w| async move { w.task() }).await;
        assert!(out.is_ok());
        assert_eq!(status(&p).await.idle, 1);
        let held = p.checkout(Block::No).await.unwrap();
        assert_eq!(
            p.transaction(SHORT, |_| async {}).await,
            Err(CheckoutError::Timeout)
        );
        p.checkin(held).await.unwrap();
        // Killed in the middle: the lease ends with its owner.
        let t = task::spawn(
            async move { p.transaction(SHORT, |_| std::future::pending::<()>()).await },
        );
        time::sleep(SHORT).await;
        assert_eq!(status(&p).await.idle, 0);
        t.abort();
        time::sleep(SHORT).await;
        assert_eq!(status(&p).await.idle, 1);
    });
}

#[test]
fn a_linked_task_ending_changes_nothing_and_stop_kills_workers_and_linked_tasks() {
    run(|node| async move {
        let p = pool(node, 2, 0).await;
        let a = p.checkout(Block::No).await.unwrap();
        let gone = spawn_idler();
        p.link(gone).await.unwrap();
        task::kill(gone);
        time::sleep(SHORT).await;
        let before = status(&p).await;
        assert_eq!((before.idle, before.checked_out.len()), (1, 1));
        let linked = spawn_idler();
        p.link(linked).await.unwrap();
        p.stop().await.unwrap();
        time::sleep(SHORT).await;
        assert!(!task::is_alive(a.task()) && !task::is_alive(linked));
        assert!(p.status().await.is_err(), "a stopped pool does not answer");
    });
}

#[test]
fn the_work_queue_answers_every_job_even_when_workers_die() {
    #[derive(Clone, Copy, Debug)]
    enum Job {
        Add(u32),
        Die,
    }
    run(|node| async move {
        let config = QueueConfig::new(1, |job: Job| async move {
            match job {
                Job::Add(n) => n + 1,
                Job::Die => {
                    task::kill(task::current());
                    std::future::pending().await
                }
            }
        })
        .on(NodeId::from_index(0), node);
        let q = queue::start(config).await.unwrap();
        let jobs = [
            Job::Add(0),
            Job::Die,
            Job::Add(1),
            Job::Die,
            Job::Die,
            Job::Add(2),
        ];
        let tickets: Vec<_> = jobs.iter().map(|j| q.submit(*j)).collect();
        let mut answers = Vec::new();
        for t in tickets {
            answers.push(t.wait().await);
        }
        let crashed = Err(JobError::WorkerCrashed);
        assert_eq!(answers, [Ok(1), crashed, Ok(2), crashed, crashed, Ok(3)]);
        let s = q.pool().status().await.unwrap();
        assert_eq!((s.idle, s.checked_out.len()), (1, 0));
    });
}
