//! The decision stream: every nondeterministic choice of a run, recorded in order.
//!
//! Each draw is a bounded integer `value < bound` with a [`DecisionKind`]. Value 0 is always
//! the least surprising option (keep running the current task, minimum latency, no drop, no
//! fault, no skew), so a run of all zeros is the sequential, fault-free execution.
//! Draws whose bound is 1 are not choices and are never recorded.

use serde::{Deserialize, Serialize};
use std::fmt;

/// What a decision decides. The kind is recorded with each decision so that a replay can tell
/// when the code under test asks a different question than the recording answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[repr(u8)]
pub enum DecisionKind {
    /// Which runnable task is polled next (0: keep running the current one, else the most
    /// recently woken).
    Schedule,
    /// Which of several events due at the same simulated instant fires first (0: FIFO).
    EventOrder,
    /// A message's latency bucket (0: minimum latency).
    Latency,
    /// Whether a message is dropped (0: delivered).
    Drop,
    /// Whether a message is duplicated (0: not).
    Duplicate,
    /// Whether a message may overtake earlier ones on its link (0: FIFO).
    Reorder,
    /// A background fault action (0: none).
    Fault,
    /// The target of a fault action (a node, a link).
    FaultTarget,
    /// A node's clock offset bucket (0: no offset).
    ClockOffset,
    /// A node's clock drift bucket (0: no drift).
    ClockDrift,
    /// A random value asked for by code under test through `weft::rand`.
    Rand,
    /// What happens to an unsynced disk write on a crash (0: it survived).
    DiskTorn,
    /// Whether a disk operation fails (0: it succeeds).
    DiskError,
    /// Whether a named fault point fires (0: it does not).
    Buggify,
    /// Test-case generation (commands and their arguments) by a model.
    Generate,
}

impl DecisionKind {
    /// All kinds, in code order.
    pub const ALL: [DecisionKind; 15] = [
        DecisionKind::Schedule,
        DecisionKind::EventOrder,
        DecisionKind::Latency,
        DecisionKind::Drop,
        DecisionKind::Duplicate,
        DecisionKind::Reorder,
        DecisionKind::Fault,
        DecisionKind::FaultTarget,
        DecisionKind::ClockOffset,
        DecisionKind::ClockDrift,
        DecisionKind::Rand,
        DecisionKind::DiskTorn,
        DecisionKind::DiskError,
        DecisionKind::Buggify,
        DecisionKind::Generate,
    ];

    /// One-letter code used in the compact encoding.
    pub fn code(self) -> char {
        match self {
            DecisionKind::Schedule => 's',
            DecisionKind::EventOrder => 'e',
            DecisionKind::Latency => 'l',
            DecisionKind::Drop => 'd',
            DecisionKind::Duplicate => 'u',
            DecisionKind::Reorder => 'o',
            DecisionKind::Fault => 'f',
            DecisionKind::FaultTarget => 't',
            DecisionKind::ClockOffset => 'c',
            DecisionKind::ClockDrift => 'r',
            DecisionKind::Rand => 'n',
            DecisionKind::DiskTorn => 'w',
            DecisionKind::DiskError => 'x',
            DecisionKind::Buggify => 'b',
            DecisionKind::Generate => 'g',
        }
    }

    fn from_code(c: char) -> Option<DecisionKind> {
        DecisionKind::ALL.into_iter().find(|k| k.code() == c)
    }

    /// Human name, as used in reports.
    pub fn name(self) -> &'static str {
        match self {
            DecisionKind::Schedule => "schedule",
            DecisionKind::EventOrder => "event-order",
            DecisionKind::Latency => "latency",
            DecisionKind::Drop => "drop",
            DecisionKind::Duplicate => "duplicate",
            DecisionKind::Reorder => "reorder",
            DecisionKind::Fault => "fault",
            DecisionKind::FaultTarget => "fault-target",
            DecisionKind::ClockOffset => "clock-offset",
            DecisionKind::ClockDrift => "clock-drift",
            DecisionKind::Rand => "rand",
            DecisionKind::DiskTorn => "disk-torn",
            DecisionKind::DiskError => "disk-error",
            DecisionKind::Buggify => "buggify",
            DecisionKind::Generate => "generate",
        }
    }

    /// Decisions fall in two classes: test-case generation and execution. Replay with
    /// fallback reads each class from its own cursor, so that shrinking the generated test
    /// case does not shift the meaning of the execution decisions.
    pub fn is_generation(self) -> bool {
        self == DecisionKind::Generate
    }
}

/// One recorded decision: `value < bound`, `bound >= 2`.
///
/// Equality and hashing look at the kind, bound and value only: the [`Address`] says where in
/// the run the decision was drawn, not what it decided.
#[derive(Clone, Copy, Debug)]
pub struct Decision {
    /// What was decided.
    pub kind: DecisionKind,
    /// Number of options.
    pub bound: u64,
    /// The option taken; 0 is the default.
    pub value: u64,
    /// Where in the run it was drawn, when the run recorded addresses (else the default).
    pub address: Address,
}

impl Decision {
    /// A decision with no address.
    pub fn new(kind: DecisionKind, bound: u64, value: u64) -> Decision {
        Decision {
            kind,
            bound,
            value,
            address: Address::NONE,
        }
    }

    /// Sets the value and forgets the option's identity (its `target`), which named the
    /// option the old value chose: the new value is read as a position among the options.
    pub fn set_value(&mut self, value: u64) {
        self.value = value;
        self.address.target = 0;
    }

    /// Whether `value` starts an option of its own. A weighted generation choice
    /// ([`Gen::weighted`](crate::Gen::weighted)) over at most 64 values maps a run of values
    /// to each option and records which values start one (see [`Address::target`]): the
    /// shrinker then tries one value per option, not every value. Every value of any other
    /// decision is an option of its own.
    pub fn is_option_start(&self, value: u64) -> bool {
        if !self.kind.is_generation() || self.address.target == 0 || self.bound > 64 {
            return true;
        }
        value < 64 && (self.address.target >> value) & 1 == 1
    }
}

impl PartialEq for Decision {
    fn eq(&self, other: &Decision) -> bool {
        (self.kind, self.bound, self.value) == (other.kind, other.bound, other.value)
    }
}

impl Eq for Decision {}

impl std::hash::Hash for Decision {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (self.kind, self.bound, self.value).hash(state);
    }
}

/// A decision's stable address: what it was about, independent of its position in the log.
///
/// Positions shift whenever the shrinker deletes a command or zeroes a decision (a message
/// not dropped makes a reply, which draws its own latency), so a recorded value replayed by
/// position lands on another question. An address names the subject instead: a message's
/// decisions by its link (the sending task, the task that bound the destination) and how many
/// messages that pair exchanged before; a preemption by
/// the task that would have run and how many steps it had taken; a fault tick by its time; a
/// node's clock by the node; a torn write by the node, its crash and the write's order. Replay
/// with fallback matches recorded decisions to live ones by address (the n-th live draw of an
/// address takes the n-th recorded one), so a decision whose subject no longer exists simply
/// disappears and the others keep their meaning.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Address {
    /// A hash of the decision's kind and subject (0: no address recorded).
    pub key: u64,
    /// For a choice among tasks or messages, the identity of the option taken (0: none, and
    /// the value is read as a position among the options). For a weighted generation choice
    /// over at most 64 values (generation decisions replay by position, with no key), the
    /// values that start an option, as a bit set (bit `v`: value `v`); 0 when not known.
    pub target: u64,
}

impl Address {
    /// No address: the decision replays by position.
    pub const NONE: Address = Address { key: 0, target: 0 };
}

/// Mixes `value` into the hash `h` (splitmix64's finalizer over a rotate-xor): stable across
/// builds and platforms, which `std`'s hashers do not promise.
pub(crate) fn mix(h: u64, value: u64) -> u64 {
    let mut z = (h.rotate_left(23) ^ value).wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A stable hash of a string, for addresses (a task's name).
pub(crate) fn mix_str(h: u64, text: &str) -> u64 {
    let mut h = mix(h, text.len() as u64);
    for chunk in text.as_bytes().chunks(8) {
        let mut word = [0u8; 8];
        word[..chunk.len()].copy_from_slice(chunk);
        h = mix(h, u64::from_le_bytes(word));
    }
    h
}

/// A recorded decision sequence.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DecisionLog {
    /// The decisions in the order they were drawn.
    pub decisions: Vec<Decision>,
}

impl DecisionLog {
    /// Number of decisions.
    pub fn len(&self) -> usize {
        self.decisions.len()
    }

    /// True when no decision was drawn.
    pub fn is_empty(&self) -> bool {
        self.decisions.is_empty()
    }

    /// Number of decisions whose value is not the default 0.
    pub fn nondefault_count(&self) -> usize {
        self.decisions.iter().filter(|d| d.value != 0).count()
    }

    /// Compact text form: space-separated `<kind><value>/<bound>` tokens, with `*N` for a token
    /// repeated N times, e.g. `g1/2 s0/3*12 l2/8`.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        let mut i = 0;
        let ds = &self.decisions;
        while i < ds.len() {
            let mut run = 1;
            while i + run < ds.len() && ds[i + run] == ds[i] {
                run += 1;
            }
            if !out.is_empty() {
                out.push(' ');
            }
            let d = ds[i];
            out.push(d.kind.code());
            out.push_str(&d.value.to_string());
            out.push('/');
            out.push_str(&d.bound.to_string());
            if run > 1 {
                out.push('*');
                out.push_str(&run.to_string());
            }
            i += run;
        }
        out
    }

    /// Parses [`DecisionLog::encode`]'s form. `max_len` bounds the expanded length, so that a
    /// damaged file cannot make the reader allocate without limit.
    pub fn decode(text: &str, max_len: usize) -> Result<DecisionLog, DecodeError> {
        let mut decisions = Vec::new();
        for (index, token) in text.split_ascii_whitespace().enumerate() {
            let err = |why: &str| DecodeError {
                token: index,
                text: token.chars().take(40).collect(),
                why: why.to_string(),
            };
            let mut chars = token.chars();
            let kind = chars
                .next()
                .and_then(DecisionKind::from_code)
                .ok_or_else(|| err("unknown decision kind"))?;
            let rest = chars.as_str();
            let (body, repeat) = match rest.split_once('*') {
                Some((body, n)) => (
                    body,
                    n.parse::<usize>().map_err(|_| err("bad repeat count"))?,
                ),
                None => (rest, 1),
            };
            let (value, bound) = body.split_once('/').ok_or_else(|| err("missing '/'"))?;
            let value: u64 = value.parse().map_err(|_| err("bad value"))?;
            let bound: u64 = bound.parse().map_err(|_| err("bad bound"))?;
            if bound < 2 || value >= bound {
                return Err(err("value must be below bound, bound at least 2"));
            }
            if repeat == 0 || decisions.len().saturating_add(repeat) > max_len {
                return Err(err("repeat count out of range"));
            }
            let d = Decision::new(kind, bound, value);
            decisions.extend(std::iter::repeat_n(d, repeat));
        }
        Ok(DecisionLog { decisions })
    }
}

/// A malformed compact decision sequence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    /// Index of the bad token.
    pub token: usize,
    /// The token (truncated).
    pub text: String,
    /// What is wrong.
    pub why: String,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "decision token {} ({:?}): {}",
            self.token, self.text, self.why
        )
    }
}

impl std::error::Error for DecodeError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_decode_round_trip() {
        let mut log = DecisionLog::default();
        for i in 0..20u64 {
            log.decisions.push(Decision::new(
                DecisionKind::ALL[(i % 15) as usize],
                3 + i % 2,
                if i % 4 == 0 { 0 } else { 1 },
            ));
        }
        for _ in 0..7 {
            log.decisions
                .push(Decision::new(DecisionKind::Schedule, 2, 0));
        }
        let text = log.encode();
        assert!(text.ends_with("s0/2*7"), "{text}");
        assert_eq!(DecisionLog::decode(&text, 1000).unwrap(), log);
    }

    #[test]
    fn decode_rejects_damage() {
        for bad in [
            "q1/2",
            "s2/2",
            "s1/1",
            "s1",
            "s1/x",
            "s0/2*0",
            "s0/2*99999999999",
        ] {
            let e = DecisionLog::decode(bad, 1000).unwrap_err();
            assert_eq!(e.token, 0, "{bad}");
        }
        assert_eq!(
            DecisionLog::decode("s0/2 s1/3 zz", 1000).unwrap_err().token,
            2
        );
    }
}
