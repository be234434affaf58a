//! Models used by weft's checkers and scenarios.
