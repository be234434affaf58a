//! The OS clock and random bytes, routed into the simulation (Linux only), as madsim does.
//!
//! This build defines the C library's `clock_gettime`, `getrandom` and `getentropy`. The
//! linker binds the program's calls to these definitions instead of the C library's, so
//! `std::time::Instant::now()` and `SystemTime::now()` (which call `clock_gettime`), and any
//! crate calling the C library's `getrandom`, reach them. Called from a simulated task, they
//! answer from the simulation: the monotonic clocks give simulated time, the real-time clocks
//! the node's wall clock (with its skew), and random bytes are recorded weft decisions.
//! Anywhere else (outside a simulation, or weft's own code) they make the system call.
//!
//! Not intercepted: code that issues the `getrandom` system call itself rather than calling
//! the C library function (the `getrandom` crate 0.2, so `rand`'s `OsRng` and `thread_rng`'s
//! seed), and values cached per thread (a `thread_rng` seeded earlier; std's `HashMap` keys,
//! drawn once per thread and incremented for every map, so two runs still differ). Use
//! `weft::rand::SimRng` and ordered maps in simulated code; weft's determinism check
//! (`weft determinism`, or `weft::internals::determinism::compare`) names the first
//! divergence they cause.

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

fn fill_simulated(buf: *mut c_void, len: usize) -> bool {
    if weft::time::try_clocks().is_none() {
        return false;
    }
    // SAFETY: the caller's contract: `buf` is valid for `len` bytes.
    let bytes = unsafe { std::slice::from_raw_parts_mut(buf.cast::<u8>(), len) };
    for chunk in bytes.chunks_mut(8) {
        let value = weft::rand::below(u64::MAX).to_le_bytes();
        chunk.copy_from_slice(&value[..chunk.len()]);
    }
    true
}

/// `getrandom(2)`: recorded weft decisions inside a simulated task, the system call elsewhere.
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
