//! Linearizability checking of concurrent histories.
#![deny(missing_docs)]
