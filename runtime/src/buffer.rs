//! The transfer buffers of `proxy_pass`: reused across sessions on each worker thread, so a
//! session neither allocates nor zeroes its two `proxy_buffer_size` buffers (nginx, too, takes
//! them unzeroed from the connection's pool).

use std::cell::RefCell;
use std::ops::{Deref, DerefMut};

/// How many bytes of free buffers one worker thread keeps for the next sessions.
const KEPT_BYTES: usize = 1024 * 1024;

thread_local! {
    /// Free buffers of this thread, most recently freed last.
    static FREE: RefCell<Vec<Box<[u8]>>> = const { RefCell::new(Vec::new()) };
}

/// A buffer of a fixed size; it goes back to its thread's free list when dropped.
///
/// A reused buffer still holds an earlier session's bytes: the transfer only ever sends the
/// range it has read into, as nginx's buffers do.
#[derive(Debug)]
pub struct Buffer {
    bytes: Box<[u8]>,
}

impl Buffer {
    /// A buffer of `size` bytes (at least one), from the free list when one of that size is
    /// there.
    pub fn take(size: usize) -> Buffer {
        let size = size.max(1);
        let reused = FREE.with(|free| {
            let mut free = free.borrow_mut();
            let index = free.iter().rposition(|b| b.len() == size)?;
            Some(free.swap_remove(index))
        });
        let bytes = reused.unwrap_or_else(|| vec![0; size].into_boxed_slice());
        Buffer { bytes }
    }
}

impl Drop for Buffer {
    fn drop(&mut self) {
        let bytes = std::mem::take(&mut self.bytes);
        // A thread being torn down has no free list any more; the buffer is just freed.
        let _ = FREE.try_with(|free| {
            let mut free = free.borrow_mut();
            let kept: usize = free.iter().map(|b| b.len()).sum();
            if kept + bytes.len() <= KEPT_BYTES {
                free.push(bytes);
            }
        });
    }
}

impl Deref for Buffer {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.bytes
    }
}

impl DerefMut for Buffer {
    fn deref_mut(&mut self) -> &mut [u8] {
        &mut self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_freed_buffer_is_taken_again_with_its_size() {
        let first = Buffer::take(4096);
        let address = first.as_ptr();
        drop(first);
        let again = Buffer::take(4096);
        assert_eq!(again.as_ptr(), address);
        assert_eq!(again.len(), 4096);
    }

    #[test]
    fn a_buffer_of_another_size_is_not_reused() {
        drop(Buffer::take(512));
        let other = Buffer::take(1024);
        assert_eq!(other.len(), 1024);
        assert_eq!(Buffer::take(0).len(), 1);
    }

    #[test]
    fn the_free_list_is_bounded() {
        let many: Vec<Buffer> = (0..80).map(|_| Buffer::take(16 * 1024)).collect();
        drop(many);
        let kept: usize = FREE.with(|free| free.borrow().iter().map(|b| b.len()).sum());
        assert!(kept <= KEPT_BYTES, "kept {kept} bytes");
    }
}
