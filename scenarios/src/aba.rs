//! The ABA race: a lock-free (Treiber) stack whose head is a compare-and-set register on a
//! server, with nodes recycled lowest-id first, as an allocator without tagged pointers does.
//! It must fail, like the canary, but it needs more than one preemption's luck: a pop reads the
//! head `X` and its successor, and must be held back while another client pops `X` (freeing
//! it) and pushes a new value, which allocates node `X` again; only then does the first pop's
//! compare-and-set on `X` succeed and return the value `X` held when it looked. Three ordering
//! constraints (the first pop's read before the other's pop, the free before the allocation,
//! the push before the first pop's swap) and a long wait of one client while another makes
//! about eight calls: uniformly random scheduling rarely starves a client that long, a
//! priority-based scheduler (PCT) often does.
//!
//! `aba-net` is the same stack with a network that takes 1 to 50 ms per message: the race is
//! then in the order messages arrive, not in which task runs next. The first pop's
//! compare-and-set must take longer than the other client's seven calls, which uniformly random
//! latencies rarely give; priorities over senders (PCTCP, [`weft::strategy::Pctcp`]) do when
//! a change point starves the first client at that message.

use std::rc::Rc;
use std::time::Duration;
use weft::internals::scenario::{Scenario, Setup};
use weft::internals::{run_case, Run};
use weft::net::{call, Addr, CallError, Endpoint, Request};
use weft::{Config, Gen, Mode, Shape, Sim, Source, StateMachine, Var, Vars};

/// A node of the stack, or `NIL`, the end.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ptr(pub u64);

/// The end of the stack.
pub const NIL: Ptr = Ptr(u64::MAX);

impl std::fmt::Debug for Ptr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            NIL => write!(f, "nil"),
            Ptr(n) => write!(f, "node{n}"),
        }
    }
}

/// A request to the memory server: the stack's head register and its nodes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MemOp {
    /// Read the head, its successor and its value.
    Top,
    /// Allocate a node (the lowest free id) holding `value`.
    Alloc(u64),
    /// Set a node's successor.
    Link {
        /// The node.
        node: Ptr,
        /// Its new successor.
        next: Ptr,
    },
    /// Set the head to `new` if it is `expect`.
    Cas {
        /// The head expected.
        expect: Ptr,
        /// The head to install.
        new: Ptr,
    },
    /// Return a node to the free list.
    Free(Ptr),
}

/// A reply of the memory server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MemReply {
    /// The head, the head's successor and the head's value (`NIL`, `NIL`, 0 when empty).
    Top {
        /// The head node.
        head: Ptr,
        /// Its successor.
        next: Ptr,
        /// Its value.
        value: u64,
    },
    /// The node allocated.
    Node(Ptr),
    /// Whether a compare-and-set swapped.
    Swapped(bool),
    /// Done.
    Done,
}

/// The memory server's port.
pub const PORT: u32 = 1;

/// The memory server: a head register and nodes (value, successor), recycled lowest id first.
pub async fn memory_server() {
    let endpoint = Endpoint::<Request<MemOp, MemReply>>::bind(PORT).expect("port free");
    let mut head = NIL;
    let mut nodes: Vec<(u64, Ptr)> = Vec::new();
    let mut free: std::collections::BTreeSet<Ptr> = std::collections::BTreeSet::new();
    loop {
        let (_, request) = endpoint.recv().await;
        let reply = match request.body {
            MemOp::Top => match nodes.get(head.0 as usize) {
                Some(&(value, next)) if head != NIL => MemReply::Top { head, next, value },
                _ => MemReply::Top {
                    head: NIL,
                    next: NIL,
                    value: 0,
                },
            },
            MemOp::Alloc(value) => {
                let node = match free.pop_first() {
                    Some(node) => {
                        nodes[node.0 as usize] = (value, NIL);
                        node
                    }
                    None => {
                        nodes.push((value, NIL));
                        Ptr(nodes.len() as u64 - 1)
                    }
                };
                MemReply::Node(node)
            }
            MemOp::Link { node, next } => {
                if let Some(slot) = nodes.get_mut(node.0 as usize) {
                    slot.1 = next;
                }
                MemReply::Done
            }
            MemOp::Cas { expect, new } => {
                let swapped = head == expect;
                if swapped {
                    head = new;
                }
                MemReply::Swapped(swapped)
            }
            MemOp::Free(node) => {
                free.insert(node);
                MemReply::Done
            }
        };
        request.reply(reply);
    }
}

const TIMEOUT: Duration = Duration::from_secs(10);

async fn mem(server: Addr, op: MemOp) -> Result<MemReply, CallError> {
    call(server, op, TIMEOUT).await
}

/// Pops: reads the head and its successor, swings the head to the successor by
/// compare-and-set (retrying if it moved), frees the node, returns its value.
pub async fn pop(server: Addr) -> Result<Option<u64>, CallError> {
    loop {
        let MemReply::Top { head, next, value } = mem(server, MemOp::Top).await? else {
            unreachable!("Top answers Top")
        };
        if head == NIL {
            return Ok(None);
        }
        if mem(
            server,
            MemOp::Cas {
                expect: head,
                new: next,
            },
        )
        .await?
            == MemReply::Swapped(true)
        {
            mem(server, MemOp::Free(head)).await?;
            return Ok(Some(value));
        }
    }
}

/// Pushes: allocates a node for `value`, links it before the head, swings the head to it by
/// compare-and-set (retrying if it moved).
pub async fn push(server: Addr, value: u64) -> Result<Option<u64>, CallError> {
    let MemReply::Node(node) = mem(server, MemOp::Alloc(value)).await? else {
        unreachable!("Alloc answers Node")
    };
    loop {
        let MemReply::Top { head, .. } = mem(server, MemOp::Top).await? else {
            unreachable!("Top answers Top")
        };
        mem(server, MemOp::Link { node, next: head }).await?;
        if mem(
            server,
            MemOp::Cas {
                expect: head,
                new: node,
            },
        )
        .await?
            == MemReply::Swapped(true)
        {
            return Ok(None);
        }
    }
}

/// A command of the stack model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// Push a value.
    Push(u64),
    /// Pop the top value.
    Pop,
}

/// The model: a stack. A pop returns the top value, or nothing when empty; a push nothing.
pub struct StackModel {
    /// Whether messages take 1 to 50 ms (`aba-net`) rather than no time (`aba`).
    pub latency: bool,
}

/// The least and greatest latency of `aba-net`'s network, and its number of steps.
const NET_LATENCY_NS: (u64, u64, u32) = (1_000_000, 50_000_000, 50);

impl StateMachine for StackModel {
    type State = Vec<u64>;
    type Command = Command;
    type Result = Result<Option<u64>, CallError>;
    type System = Addr;

    fn config(&self) -> Config {
        // No faults. Without latency the only decisions are which task runs next; with it,
        // mostly how long each message takes.
        let mut cfg = Config::default();
        if self.latency {
            let (min, max, buckets) = NET_LATENCY_NS;
            cfg.net.latency_min_ns = min;
            cfg.net.latency_max_ns = max;
            cfg.net.latency_buckets = buckets;
        }
        cfg
    }

    fn setup(&self, sim: &mut Sim) -> Addr {
        Addr::new(sim.add_node("memory", memory_server), PORT)
    }

    fn init(&self) -> Vec<u64> {
        Vec::new()
    }

    fn command(&self, _: &Vec<u64>, gen: &mut Gen) -> Command {
        if gen.bool() {
            Command::Push(gen.below(4))
        } else {
            Command::Pop
        }
    }

    fn next_state(&self, state: &Vec<u64>, command: &Command, _: Var) -> Vec<u64> {
        let mut stack = state.clone();
        match command {
            Command::Push(v) => stack.push(*v),
            Command::Pop => {
                stack.pop();
            }
        }
        stack
    }

    fn postcondition(
        &self,
        state: &Vec<u64>,
        command: &Command,
        result: &Self::Result,
        _: &Vars<Self::Result>,
    ) -> Result<(), String> {
        let expected = match command {
            Command::Push(_) => None,
            Command::Pop => state.last().copied(),
        };
        match result {
            Ok(v) if *v == expected => Ok(()),
            other => Err(format!("expected Ok({expected:?}), got {other:?}")),
        }
    }

    async fn run(&self, server: &Addr, command: &Command, _: &Vars<Self::Result>) -> Self::Result {
        match command {
            Command::Push(v) => push(*server, *v).await,
            Command::Pop => pop(*server).await,
        }
    }

    fn describe(&self, command: &Command) -> String {
        match command {
            Command::Push(v) => format!("push({v})"),
            Command::Pop => "pop".to_string(),
        }
    }
}

/// The shape of ABA cases: a short prefix, then two or three clients.
pub fn shape() -> Shape {
    Shape {
        mode: Mode::Parallel,
        prefix_max: 3,
        branch_count_max: 3,
        branch_length_max: 4,
        interleavings_max: 10_000,
        length_mean: None,
    }
}

/// The ABA scenarios: [`ABA`] (no latency) and [`ABA_NET`] (1 to 50 ms per message).
pub struct Aba {
    name: &'static str,
    about: &'static str,
    /// The model's network: see [`StackModel::latency`].
    latency: bool,
}

/// The ABA race in the task order.
pub const ABA: Aba = Aba {
    name: "aba",
    about:
        "lock-free stack over a compare-and-set head with recycled nodes (the ABA race); must fail",
    latency: false,
};

/// The ABA race over a network with latency (see the module's documentation).
pub const ABA_NET: Aba = Aba {
    name: "aba-net",
    about:
        "the ABA race over a network of 1 to 50 ms per message: a race in message order; must fail",
    latency: true,
};

impl Scenario for Aba {
    fn name(&self) -> &'static str {
        self.name
    }

    fn about(&self) -> &'static str {
        self.about
    }

    fn must_fail(&self) -> bool {
        true
    }

    fn run(&self, setup: &Setup, source: Source) -> Run {
        let model = StackModel {
            latency: self.latency,
        };
        run_case(&Rc::new(model), &shape(), source, setup.detail)
    }
}
