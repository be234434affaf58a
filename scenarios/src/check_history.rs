//! `weft check-history`: linearizability check of a recorded history.

/// Arguments of `weft check-history`.
#[derive(clap::Args)]
pub struct Args {
    /// The history file.
    pub file: std::path::PathBuf,
}

/// Runs the subcommand and returns the process exit code.
pub fn run(_args: Args) -> u8 {
    eprintln!("weft check-history: not implemented yet");
    2
}
