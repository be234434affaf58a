//! The OS clock and random bytes, routed into the simulation (Linux only), as madsim does.
//!
//! This build defines the C library's `clock_gettime`, `getrandom` and `getentropy`. The
//! linker binds the program's calls to these definitions instead of the C library's, so
//! `std::time::Instant::now()` and `SystemTime::now()` (which call `clock_gettime`), and any
//! crate calling the C library's `getrandom`, reach them. Called from a simulated task, they
//! answer from the simulation: the monotonic clocks give the node's monotonic clock (simulated
//! time at the node's drift, as `weft::time::now_ns`), the real-time clocks the node's wall
//! clock (with its offset, steps and drift), and random bytes come from the simulation's state
//! (time, node, task), so a run gives the same bytes every time (they are not weft decisions:
//! see `fill_simulated`).
//! Anywhere else (outside a simulation, or weft's own code) they make the system call.
//!
//! Not intercepted: code that issues the `getrandom` system call itself rather than calling
//! the C library function (the `getrandom` crate 0.2, so `rand`'s `OsRng` and `thread_rng`'s
//! seed), and values cached per thread (a `thread_rng` seeded earlier; std's `HashMap` keys,
//! drawn once per thread and incremented for every map, so two runs still differ). Use
//! `weft::rand::SimRng` and ordered maps in simulated code; weft's determinism check
//! (`weft determinism`, or `weft::internals::determinism::compare`) names the first
//! divergence they cause.

use std::cell::RefCell;
use std::ffi::{c_int, c_uint, c_void};

/// Simulated time starts here on the monotonic clocks, so that a simulated `Instant` is never
/// the OS's zero.
const MONOTONIC_BASE_NS: u64 = 1_000_000_000;

fn simulated_ns(clock: libc::clockid_t) -> Option<u64> {
    let (now, wall) = weft::time::try_clocks()?;
    match clock {
        libc::CLOCK_MONOTONIC
        | libc::CLOCK_MONOTONIC_RAW
        | libc::CLOCK_MONOTONIC_COARSE
        | libc::CLOCK_BOOTTIME => Some(MONOTONIC_BASE_NS + now),
        libc::CLOCK_REALTIME | libc::CLOCK_REALTIME_COARSE => Some(wall),
        _ => None,
    }
}

/// `clock_gettime(2)`: simulated inside a simulated task, the system call elsewhere.
///
/// # Safety
/// As the C function: `tp` must be valid for a write.
#[no_mangle]
pub unsafe extern "C" fn clock_gettime(clock: libc::clockid_t, tp: *mut libc::timespec) -> c_int {
    if let Some(ns) = simulated_ns(clock) {
        // SAFETY: the caller's contract.
        unsafe {
            (*tp).tv_sec = (ns / 1_000_000_000) as libc::time_t;
            (*tp).tv_nsec = (ns % 1_000_000_000) as libc::c_long;
        }
        return 0;
    }
    // SAFETY: the caller's contract, passed on to the kernel.
    unsafe { libc::syscall(libc::SYS_clock_gettime, clock, tp) as c_int }
}

thread_local! {
    /// Per node of the current run: the (simulated time, task) that last asked for random
    /// bytes, and how many times it asked.
    static ASKED: RefCell<Vec<(u64, u64, u64)>> = const { RefCell::new(Vec::new()) };
}

/// A port no other code binds: bound (and leaked) on a node by the first request for random
/// bytes of each run, so that a failed bind says "this run already asked on this node".
const RUN_MARKER_PORT: u32 = u32::MAX - 1;

#[derive(Clone, Debug)]
struct RunMarker;

/// SplitMix64's step.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Fills `buf` from the simulation's state (time, node, task, and the how-manieth call of that
/// task at that instant): the same run gives the same bytes, and calls differ. Deliberately
/// not weft decisions: std draws its hash keys once per thread, so a decision drawn by the
/// first run's first map would be missing from every later run on that thread and shift their
/// decision streams (a replay in a fresh process would then diverge).
fn fill_simulated(buf: *mut c_void, len: usize) -> bool {
    let Some((now, _)) = weft::time::try_clocks() else {
        return false;
    };
    let task = weft::task::current().index() as u64;
    let node = weft::node::current().index();
    // The first request of this run on this node (or since the node restarted) binds the marker.
    let first_of_run = match weft::net::Endpoint::<RunMarker>::bind(RUN_MARKER_PORT) {
        Ok(marker) => {
            std::mem::forget(marker); // stays bound until the run (or the node) ends
            true
        }
        Err(_) => false,
    };
    let count = ASKED.with(|asked| {
        let mut asked = asked.borrow_mut();
        if asked.len() <= node {
            asked.resize(node + 1, (u64::MAX, u64::MAX, 0));
        }
        let (at, by, n) = asked[node];
        let n = if !first_of_run && (at, by) == (now, task) {
            n + 1
        } else {
            0
        };
        asked[node] = (now, task, n);
        n
    });
    let mut state =
        now ^ (task << 40) ^ ((node as u64) << 20) ^ count.wrapping_mul(0x2545_F491_4F6C_DD1D);
    // SAFETY: the caller's contract: `buf` is valid for `len` bytes.
    let bytes = unsafe { std::slice::from_raw_parts_mut(buf.cast::<u8>(), len) };
    for chunk in bytes.chunks_mut(8) {
        let value = splitmix(&mut state).to_le_bytes();
        chunk.copy_from_slice(&value[..chunk.len()]);
    }
    true
}

/// `getrandom(2)`: bytes from the simulation's state inside a simulated task, the system call
/// elsewhere.
///
/// # Safety
/// As the C function: `buf` must be valid for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn getrandom(buf: *mut c_void, len: usize, flags: c_uint) -> isize {
    if fill_simulated(buf, len) {
        return len as isize;
    }
    // SAFETY: the caller's contract, passed on to the kernel.
    unsafe { libc::syscall(libc::SYS_getrandom, buf, len, flags) as isize }
}

/// `getentropy(3)`: as [`getrandom`], at most 256 bytes.
///
/// # Safety
/// As the C function: `buf` must be valid for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn getentropy(buf: *mut c_void, len: usize) -> c_int {
    if len > 256 {
        // SAFETY: errno is thread-local.
        unsafe { *libc::__errno_location() = libc::EIO };
        return -1;
    }
    if fill_simulated(buf, len) {
        return 0;
    }
    let mut done = 0;
    while done < len {
        // SAFETY: within the caller's buffer.
        let n = unsafe {
            libc::syscall(
                libc::SYS_getrandom,
                buf.cast::<u8>().add(done),
                len - done,
                0,
            )
        };
        if n < 0 {
            if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return -1;
        }
        done += n as usize;
    }
    0
}
