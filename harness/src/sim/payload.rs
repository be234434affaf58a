//! A message's payload: any `Clone + Debug` value (duplication needs a copy; counterexamples
//! show messages with `Debug`), held without an allocation when it is as small as two words
//! (a number, an id, a small enum), else boxed.
//!
//! The value is stored in two words with a table of the functions that know its type, as a
//! `Box<dyn Trait>` would be, minus the allocation for small values: a value that fits (size at
//! most two words, alignment at most a word's) is stored in the words themselves, a larger one as a
//! `Box` of it (one word). Every access goes through the table of the type the payload was
//! made with, so the words are always read as what was written into them.

use std::any::{Any, TypeId};
use std::fmt;
use std::marker::PhantomData;
use std::mem::{align_of, size_of, ManuallyDrop, MaybeUninit};
use std::ptr;

/// The room of a payload: a value that fits, or the pointer of a boxed one.
type Words = [usize; 2];

/// Whether a `T` is stored in the words themselves (else boxed).
const fn fits<T>() -> bool {
    size_of::<T>() <= size_of::<Words>() && align_of::<T>() <= align_of::<Words>()
}

/// The functions that know the payload's type.
struct Vtable {
    /// The type itself, not a function returning it: the type is checked at every delivery
    /// and every receive.
    type_id: TypeId,
    type_name: fn() -> &'static str,
    clone: unsafe fn(*const Words) -> Payload,
    describe: unsafe fn(*const Words) -> String,
    drop: unsafe fn(*mut Words),
}

struct VtableOf<T>(PhantomData<T>);

impl<T: Any + Clone + fmt::Debug> VtableOf<T> {
    const VTABLE: Vtable = Vtable {
        type_id: TypeId::of::<T>(),
        type_name: std::any::type_name::<T>,
        clone: clone_stored::<T>,
        describe: describe_stored::<T>,
        drop: drop_stored::<T>,
    };
}

/// The stored `T`.
///
/// # Safety
/// `words` holds a `T` written by [`Payload::new`] (in place if it fits, else boxed).
unsafe fn stored<'a, T>(words: *const Words) -> &'a T {
    if fits::<T>() {
        &*words.cast::<T>()
    } else {
        &*words.cast::<Box<T>>()
    }
}

/// # Safety
/// As [`stored`].
unsafe fn clone_stored<T: Any + Clone + fmt::Debug>(words: *const Words) -> Payload {
    Payload::new(stored::<T>(words).clone())
}

/// # Safety
/// As [`stored`].
unsafe fn describe_stored<T: fmt::Debug>(words: *const Words) -> String {
    format!("{:?}", stored::<T>(words))
}

/// # Safety
/// As [`stored`], and the value is not used again.
unsafe fn drop_stored<T>(words: *mut Words) {
    if fits::<T>() {
        ptr::drop_in_place(words.cast::<T>());
    } else {
        ptr::drop_in_place(words.cast::<Box<T>>());
    }
}

/// A message's payload (see the module's documentation).
pub(crate) struct Payload {
    words: MaybeUninit<Words>,
    vtable: &'static Vtable,
    /// Neither `Send` nor `Sync`: the value may be neither.
    _local: PhantomData<*const ()>,
}

impl Payload {
    /// A payload holding `value`.
    pub fn new<T: Any + Clone + fmt::Debug>(value: T) -> Payload {
        let mut words = MaybeUninit::<Words>::uninit();
        // SAFETY: the words have the room and alignment of a `T` when it fits, and always of
        // a `Box<T>` (one pointer); the vtable is `T`'s, so they are read back as written.
        unsafe {
            if fits::<T>() {
                ptr::write(words.as_mut_ptr().cast::<T>(), value);
            } else {
                ptr::write(words.as_mut_ptr().cast::<Box<T>>(), Box::new(value));
            }
        }
        Payload {
            words,
            vtable: &VtableOf::<T>::VTABLE,
            _local: PhantomData,
        }
    }

    /// The type of the value.
    #[inline]
    pub fn value_type(&self) -> TypeId {
        self.vtable.type_id
    }

    /// The name of the value's type.
    pub fn type_name(&self) -> &'static str {
        (self.vtable.type_name)()
    }

    /// A copy (for a duplicated message).
    pub fn clone_payload(&self) -> Payload {
        // SAFETY: the words hold a value of the vtable's type.
        unsafe { (self.vtable.clone)(self.words.as_ptr()) }
    }

    /// The value, with `Debug`.
    pub fn describe(&self) -> String {
        // SAFETY: as in `clone_payload`.
        unsafe { (self.vtable.describe)(self.words.as_ptr()) }
    }

    /// The value, if it is an `M`.
    pub fn take<M: 'static>(self) -> Option<M> {
        if self.value_type() != TypeId::of::<M>() {
            return None;
        }
        let this = ManuallyDrop::new(self);
        // SAFETY: the words hold an `M` (its type checked above), stored as `new` stores it;
        // it is read out once and the payload is not dropped (`ManuallyDrop`).
        unsafe {
            let words = this.words.as_ptr();
            Some(if fits::<M>() {
                ptr::read(words.cast::<M>())
            } else {
                *ptr::read(words.cast::<Box<M>>())
            })
        }
    }
}

impl Drop for Payload {
    fn drop(&mut self) {
        // SAFETY: the words hold a value of the vtable's type, dropped once, here.
        unsafe { (self.vtable.drop)(self.words.as_mut_ptr()) }
    }
}

#[cfg(test)]
mod tests {
    use super::Payload;
    use std::rc::Rc;

    #[test]
    fn small_and_large_values_round_trip_and_drop_once() {
        let small = Payload::new(7u64);
        assert_eq!(small.describe(), "7");
        assert_eq!(small.type_name(), "u64");
        assert_eq!(small.clone_payload().take::<u64>(), Some(7));
        assert_eq!(small.take::<u32>(), None);
        let large = Payload::new((1u64, 2u64, String::from("x")));
        assert_eq!(large.describe(), "(1, 2, \"x\")");
        assert_eq!(
            large.take::<(u64, u64, String)>(),
            Some((1, 2, "x".to_string()))
        );
        let wide = Payload::new(u128::MAX);
        assert_eq!(wide.clone_payload().take::<u128>(), Some(u128::MAX));
        let shared = Rc::new(());
        let held = Payload::new(shared.clone());
        let copy = held.clone_payload();
        assert_eq!(Rc::strong_count(&shared), 3);
        drop(held);
        assert_eq!(copy.take::<Rc<()>>().map(|r| Rc::strong_count(&r)), Some(2));
        assert_eq!(Rc::strong_count(&shared), 1);
        let boxed = Payload::new(vec![shared.clone(); 3]);
        assert_eq!(Rc::strong_count(&shared), 4);
        drop(boxed);
        assert_eq!(Rc::strong_count(&shared), 1);
    }
}
