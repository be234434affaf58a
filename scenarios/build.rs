//! The `weft` binary's start-up (issue 14: `weft check-history` on a small history against
//! Porcupine's Go driver, process start-up included; on the shared histories the process is
//! almost all start-up). Four things, all for the `weft` binary alone:
//!
//! - Position-dependent: with a PIE, the dynamic loader applies some 11,000 relative
//!   relocations at every start and write-protects the pages they dirtied, which was a sixth
//!   of the start-up of a `weft check-history` on a small history. The code is still compiled
//!   position-independent; only the executable's own load address stops being randomised
//!   (libraries, heap and stacks still are).
//! - Statically linked against glibc, as `-C target-feature=+crt-static` would do (Go
//!   binaries are static too): no dynamic loader at all, which was about 0.7 ms of a 3 ms
//!   process. Cargo cannot give one binary its own `crt-static` (the flag is per build, and
//!   a build with it cannot compile proc-macros), so this is done at the link: the linker is
//!   asked for a static executable, and the libraries rustc names for a dynamic link
//!   (`-lgcc_s`, `-lc`, `-lm`, ...) are found first in a directory of this build script's
//!   with linker scripts of those names, each pointing at the static archive rustc would
//!   name for `crt-static` (`libgcc_eh.a` and `libgcc.a` for `libgcc_s`, `libc.a` for `libc`,
//!   ...). Only when building for the machine's own Linux with glibc, and only if every
//!   archive is installed (Debian: `libc6-dev`); otherwise the binary stays dynamic, with a
//!   warning. `WEFT_LINK_DYNAMIC=1` keeps it dynamic.
//! - The functions of a short process's start-up placed together (`startup_order`).
//! - The indices of the mimalloc options whose defaults `main.rs` changes (before mimalloc
//!   initialises), read from the mimalloc header that is compiled.
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=WEFT_LINK_DYNAMIC");
    println!("cargo:rerun-if-env-changed=WEFT_NO_STARTUP_ORDER");
    println!("cargo:rerun-if-changed=startup.order");
    println!("cargo:rustc-check-cfg=cfg(weft_mimalloc_options)");
    let target = std::env::var("TARGET").unwrap_or_default();
    if target.contains("linux") {
        println!("cargo:rustc-link-arg-bin=weft=-no-pie");
        static_link(&target);
    }
    startup_order(&target);
    mimalloc_options();
}

/// The libraries rustc names for a dynamic link of the standard library, and the static
/// archives it names for the same with `crt-static`.
const STATIC_FOR: &[(&str, &[&str])] = &[
    ("gcc_s", &["libgcc_eh.a", "libgcc.a"]),
    ("c", &["libc.a", "libgcc_eh.a", "libgcc.a"]),
    ("m", &["libm.a"]),
    ("util", &["libutil.a"]),
    ("rt", &["librt.a"]),
    ("pthread", &["libpthread.a"]),
    ("dl", &["libdl.a"]),
];

fn static_link(target: &str) {
    let host = std::env::var("HOST").unwrap_or_default();
    let features = std::env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default();
    if std::env::var("CARGO_CFG_TARGET_ENV").as_deref() != Ok("gnu")
        || target != host
        || features.split(',').any(|f| f == "crt-static")
        || std::env::var_os("WEFT_LINK_DYNAMIC").is_some_and(|v| !v.is_empty() && v != "0")
    {
        return;
    }
    let linker = std::env::var("RUSTC_LINKER").unwrap_or_else(|_| "cc".into());
    let dir = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("static-libs");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, archives) in STATIC_FOR {
        let mut paths = Vec::new();
        for archive in *archives {
            match archive_path(&linker, archive) {
                Some(path) => paths.push(path),
                None => {
                    println!(
                        "cargo:warning=weft is linked dynamically: `{linker} -print-file-name={archive}` found no static archive (Debian: libc6-dev)"
                    );
                    return;
                }
            }
        }
        let paths: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        let script = format!(
            "/* weft-scenarios/build.rs: the static archives for -l{name} (the weft binary is linked statically) */\nGROUP ( {} )\n",
            paths.join(" ")
        );
        std::fs::write(dir.join(format!("lib{name}.so")), script).unwrap();
    }
    println!("cargo:rustc-link-arg-bin=weft=-L{}", dir.display());
    println!("cargo:rustc-link-arg-bin=weft=-static");
}

/// The absolute path of a library archive as the C compiler that links finds it, if any.
fn archive_path(linker: &str, archive: &str) -> Option<PathBuf> {
    let out = Command::new(linker)
        .arg(format!("-print-file-name={archive}"))
        .output()
        .ok()?;
    let path = PathBuf::from(String::from_utf8(out.stdout).ok()?.trim());
    // Without the archive, the compiler prints the bare name back.
    (path.is_absolute() && path.is_file()).then(|| path.canonicalize().unwrap_or(path))
}

/// `startup.order` (written by `bench/startup-order.sh`) to the linker, as lld's
/// `--symbol-ordering-file`: the functions a short `weft` process runs placed side by side, so
/// that it touches a few hundred kilobytes of code instead of pages spread over the whole text.
/// Only where rustc links with lld by default (1.90 and later, x86_64 Linux with glibc) and
/// nothing asks for another linker; GNU ld has no such option. Missing symbols are skipped
/// (`--no-warn-symbol-ordering`). `WEFT_NO_STARTUP_ORDER=1` leaves the order to the linker.
fn startup_order(target: &str) {
    let flags = std::env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    let other_linker = std::env::var_os("RUSTC_LINKER").is_some()
        || ["linker", "link-self-contained", "fuse-ld"]
            .iter()
            .any(|f| flags.contains(f));
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let minor = Command::new(rustc).arg("-V").output().ok().and_then(|out| {
        let text = String::from_utf8(out.stdout).ok()?;
        let version = text.split_whitespace().nth(1)?;
        version.split('.').nth(1)?.parse::<u32>().ok()
    });
    if target != "x86_64-unknown-linux-gnu"
        || other_linker
        || !matches!(minor, Some(m) if m >= 90)
        || std::env::var_os("WEFT_NO_STARTUP_ORDER").is_some_and(|v| !v.is_empty() && v != "0")
    {
        return;
    }
    let order = Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("startup.order");
    if order.is_file() {
        println!(
            "cargo:rustc-link-arg-bin=weft=-Wl,--symbol-ordering-file={}",
            order.display()
        );
        println!("cargo:rustc-link-arg-bin=weft=-Wl,--no-warn-symbol-ordering");
    }
}

/// The mimalloc options `main.rs` gives a default, by their names in mimalloc's `mi_option_e`.
const MI_OPTIONS: &[(&str, &str)] = &[
    ("MI_OPTION_ALLOW_THP", "mi_option_allow_thp"),
    ("MI_OPTION_ARENA_RESERVE", "mi_option_arena_reserve"),
];

/// `$OUT_DIR/mimalloc_options.rs`: a constant for each of `MI_OPTIONS`, its value in the
/// `mi_option_e` enum of the mimalloc header being compiled (libmimalloc-sys does not export
/// them), and the cfg `weft_mimalloc_options` when every one was found.
fn mimalloc_options() {
    let Some(include) = std::env::var_os("DEP_MIMALLOC_INCLUDE_DIR") else {
        println!("cargo:warning=mimalloc's include directory is unknown: its options left at mimalloc's defaults");
        return;
    };
    let header = Path::new(&include).join("mimalloc.h");
    println!("cargo:rerun-if-changed={}", header.display());
    let text = std::fs::read_to_string(&header).unwrap_or_default();
    let mut code = format!("// Written by build.rs from {}.\n", header.display());
    for (constant, member) in MI_OPTIONS {
        let Some(index) = enum_index(&text, "mi_option_e", member) else {
            println!(
                "cargo:warning={member} not found in {}: mimalloc's options left at its defaults",
                header.display()
            );
            return;
        };
        code += &format!("const {constant}: std::ffi::c_int = {index};\n");
    }
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("mimalloc_options.rs");
    std::fs::write(out, code).unwrap();
    println!("cargo:rustc-cfg=weft_mimalloc_options");
}

/// The value of `member` in the C enum `name` whose members are listed one after the other
/// without explicit values (an explicit value makes the answer unknown).
fn enum_index(text: &str, name: &str, member: &str) -> Option<usize> {
    let body = text.split(&format!("enum {name}")).nth(1)?;
    let body = body.split_once('{')?.1.split_once('}')?.0;
    let mut index = 0;
    for line in body.lines() {
        let code = line.split("//").next().unwrap_or("").trim();
        let Some(entry) = code
            .strip_suffix(',')
            .or(Some(code))
            .filter(|c| !c.is_empty())
        else {
            continue;
        };
        if entry.contains('=') {
            return None;
        }
        if entry == member {
            return Some(index);
        }
        index += 1;
    }
    None
}
