//! The `weft` command-line tool: the generic front end of `weft-cli` over the bundled
//! scenarios, with the subcommands that need the bundled systems (`demo`, `bench`,
//! `check-history`).
//!
//! Exit codes, shared by every subcommand: 0 success (every property holds, the history is
//! linearizable), 1 a property failed (not linearizable), 2 bad usage or bad input,
//! 3 unknown (a checker bound was reached).

mod bench;
mod check_history;

use clap::Subcommand;
use weft_cli::{Extension, Registry};

/// mimalloc instead of the system's malloc: simulated runs allocate and free many small
/// objects (messages, tasks, versions). It only changes wall-clock figures, never a run.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's defaults changed for the start-up of a short process (issue 14: `weft
/// check-history` on a small history is almost all start-up), from a constructor that runs
/// before mimalloc's own (which reads its options, the environment's `MIMALLOC_*` first) and
/// before std's start-up (whose first allocation reserves mimalloc's first arena). The
/// environment still overrides them (`MIMALLOC_ALLOW_THP=1`, `MIMALLOC_ARENA_RESERVE=1G`).
/// Neither slowed the simulations: `weft bench kv --scale 0.05` ran 579 million instructions
/// under callgrind with and without them, and alternating wall-clock rounds did not differ.
///
/// - `allow_thp` 0: mimalloc asks for transparent huge pages on the memory it reserves, so
///   the first allocation made the kernel zero whole 2 MiB pages: a quarter of the time of a
///   `weft check-history` on a small history.
/// - `arena_reserve` 64 MiB instead of 1 GiB: the first arena's bitmaps, initialised at the
///   first allocation, are a sixteenth the size (a tenth of the rest of that time). The
///   simulations use about 11 MB; mimalloc reserves more arenas as needed.
#[cfg(all(target_os = "linux", weft_mimalloc_options))]
mod mimalloc_defaults {
    include!(concat!(env!("OUT_DIR"), "/mimalloc_options.rs"));

    extern "C" {
        fn mi_option_set_default(option: std::ffi::c_int, value: std::ffi::c_long);
    }

    #[used]
    #[link_section = ".init_array.00099"]
    static SET_DEFAULTS: extern "C" fn() = set_defaults;

    extern "C" fn set_defaults() {
        // SAFETY: sets entries of mimalloc's static option table, which mimalloc reads when
        // it initialises, after this; nothing else runs yet.
        unsafe {
            mi_option_set_default(MI_OPTION_ALLOW_THP, 0);
            mi_option_set_default(MI_OPTION_ARENA_RESERVE, 64 * 1024); // in KiB
        }
    }
}

/// The bundled tool's own subcommands, placed in the help among the generic ones.
#[derive(Subcommand)]
enum Bundled {
    /// The demo: find a bug in a bundled system, shrink it, explain it.
    #[command(display_order = 0)]
    Demo(DemoArgs),
    /// Measure throughput (cases per second) and shrink times.
    #[command(display_order = 9)]
    Bench(bench::BenchArgs),
    /// Check a recorded history for linearizability.
    #[command(display_order = 12)]
    CheckHistory(check_history::Args),
}

impl Extension for Bundled {
    fn run(self, registry: &Registry) -> u8 {
        match self {
            Bundled::Demo(args) => demo(registry, args),
            Bundled::Bench(args) => bench::run(args),
            Bundled::CheckHistory(args) => check_history::run(args),
        }
    }
}

#[derive(clap::Args)]
struct DemoArgs {
    /// Seed of the search.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

/// The embedded default job: fuzz the canary, then the worker pool with a planted bug from
/// poolboy's history; each failure is shrunk and explained. Exit 0 when both were found (the
/// demo worked), 1 if not (the harness is broken).
fn demo(registry: &Registry, args: DemoArgs) -> u8 {
    let jobs = [
        (
            "canary",
            None,
            "the canary: a racy read-modify-write counter, two or three clients in parallel",
        ),
        (
            "pool",
            Some("serve-expired-waiter"),
            "a poolboy-like worker pool with a bug poolboy had (6a53f06): a checkin serves a waiter whose checkout already timed out",
        ),
        (
            "kv-sequential",
            Some("last-write-wins"),
            "the Dynamo-style store in last-write-wins mode (Jepsen's Riak analysis): each key keeps the value with the latest wall-clock stamp; one client operation at a time, clocks skewed by up to 50 ms",
        ),
    ];
    let mut missed = Vec::new();
    for (scenario, bug, about) in jobs {
        println!("== weft demo: fuzzing {about}\n");
        let seed = args.seed.to_string();
        let mut fuzz = vec!["weft", "fuzz", scenario, "--cases", "2000", "--seed", &seed];
        fuzz.extend(["--strategy", "random", "--progress", "none"]);
        if let Some(bug) = bug {
            fuzz.extend(["--bug", bug]);
        }
        if weft_cli::run(registry, fuzz) != 1 {
            missed.push(scenario);
        }
    }
    if missed.is_empty() {
        println!("The demo found, shrank and explained its three bugs. `weft list` shows every scenario and planted bug.");
        0
    } else {
        eprintln!(
            "weft demo: NOT found in {}: the harness is broken",
            missed.join(", ")
        );
        1
    }
}

fn main() -> std::process::ExitCode {
    weft_cli::main_with::<Bundled>(weft_scenarios::registry())
}
