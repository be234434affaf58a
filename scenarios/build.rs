//! Links the `weft` binary as a position-dependent executable: with a PIE, the dynamic loader
//! applies some 11,000 relative relocations at every start and write-protects the pages they
//! dirtied, which was a sixth of the start-up of a `weft check-history` on a small history
//! (issue 14: the checker against Porcupine, process start-up included). The code is still
//! compiled position-independent; only the executable's own load address stops being
//! randomised (libraries, heap and stacks still are).
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let target = std::env::var("TARGET").unwrap_or_default();
    if target.contains("linux") {
        println!("cargo:rustc-link-arg-bin=weft=-no-pie");
    }
}
