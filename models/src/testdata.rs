//! Where the public ground-truth histories are: `shared/data/porcupine`, beside the repository
//! (as CI checks it out) or inside it. For tests and benchmarks.

use std::path::PathBuf;

/// The directory of Porcupine's histories with known verdicts, or an error naming where it
/// was looked for.
pub fn porcupine_dir() -> Result<PathBuf, String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let candidates = [
        root.join("../shared/data/porcupine"),
        root.join("shared/data/porcupine"),
    ];
    candidates
        .iter()
        .find(|c| c.join("README.md").is_file())
        .cloned()
        .ok_or_else(|| {
            format!(
                "the ground-truth histories are missing: looked for {} and {}",
                candidates[0].display(),
                candidates[1].display()
            )
        })
}
