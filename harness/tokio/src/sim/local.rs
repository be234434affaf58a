//! A value that stays on the simulation's thread.
//!
//! weft runs every simulated task on one OS thread, and some of its handles are `Rc`-based.
//! tokio's types are `Send`, and code written for tokio moves them into `Send` futures; this
//! wrapper lets the simulated types be `Send` as well, and checks that they never actually
//! leave their thread (a simulation never starts OS threads).

use std::mem::ManuallyDrop;
use std::thread::{self, ThreadId};

pub(crate) struct Local<T> {
    value: ManuallyDrop<T>,
    thread: ThreadId,
}

// SAFETY: the value is only reached through `get`/`get_mut`, which panic on any other thread
// than the one that created it, and it is dropped only on that thread (else leaked).
unsafe impl<T> Send for Local<T> {}
unsafe impl<T> Sync for Local<T> {}

impl<T> Local<T> {
    pub(crate) fn new(value: T) -> Local<T> {
        Local {
            value: ManuallyDrop::new(value),
            thread: thread::current().id(),
        }
    }

    fn check(&self) {
        assert!(
            thread::current().id() == self.thread,
            "weft-tokio: a simulated handle was used outside its simulation's thread"
        );
    }

    pub(crate) fn get(&self) -> &T {
        self.check();
        &self.value
    }

    pub(crate) fn get_mut(&mut self) -> &mut T {
        self.check();
        &mut self.value
    }
}

impl<T> Drop for Local<T> {
    fn drop(&mut self) {
        if thread::current().id() == self.thread {
            // SAFETY: dropped once, here, on its own thread.
            unsafe { ManuallyDrop::drop(&mut self.value) }
        }
    }
}
