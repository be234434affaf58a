//! weft: deterministic simulation and model-based testing for distributed systems.
#![deny(missing_docs)]

pub use weft_lincheck as lincheck;
