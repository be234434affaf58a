//! A worker pool in the spirit of Erlang's poolboy.
