//! The process allocator. The first allocations (command line, config,
//! preparation) are bumped out of a fixed 64 KiB arena and never reused;
//! musl's malloc serves everything after, and anything large. musl's
//! allocator maps and unmaps pages eagerly: without the arena, parsing the
//! command line alone made ~40 mmap/munmap calls, a tenth of `init --
//! /bin/true`'s time. The arena is bss: untouched pages cost nothing.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicUsize, Ordering};

const SIZE: usize = 64 * 1024;
/// Larger requests go straight to malloc: they would use up the arena.
const LARGEST: usize = 4 * 1024;

#[repr(C, align(16))]
struct Arena(UnsafeCell<[u8; SIZE]>);

// SAFETY: disjoint parts of the arena are handed out once each, through
// the atomic bump below; nobody reads it through `Arena` itself.
unsafe impl Sync for Arena {}

static ARENA: Arena = Arena(UnsafeCell::new([0; SIZE]));
static USED: AtomicUsize = AtomicUsize::new(0);

pub struct StartupArena;

fn base() -> usize {
    ARENA.0.get() as usize
}

fn in_arena(ptr: *mut u8) -> bool {
    (base()..base() + SIZE).contains(&(ptr as usize))
}

fn bump(layout: Layout) -> Option<*mut u8> {
    if layout.size() > LARGEST || layout.align() > 4096 {
        return None;
    }
    let mut used = USED.load(Ordering::Relaxed);
    loop {
        let start = (base() + used).next_multiple_of(layout.align()) - base();
        let end = start.checked_add(layout.size())?;
        if end > SIZE {
            return None;
        }
        match USED.compare_exchange_weak(used, end, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return Some((base() + start) as *mut u8),
            Err(now) => used = now,
        }
    }
}

// SAFETY: every pointer returned is either a fresh, suitably aligned,
// never-shared range of the arena or comes from `System`; arena pointers
// are never passed to `System`, and `System` pointers are freed by it.
unsafe impl GlobalAlloc for StartupArena {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match bump(layout) {
            Some(p) => p,
            // SAFETY: forwarded with the caller's valid layout.
            None => unsafe { System.alloc(layout) },
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if !in_arena(ptr) {
            // SAFETY: not an arena pointer, so `System` allocated it with `layout`.
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !in_arena(ptr) {
            // SAFETY: `System` allocated `ptr` with `layout`.
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        // SAFETY: the caller guarantees `new_size` with this alignment is a valid layout.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: a valid layout, as above.
        let new = unsafe { self.alloc(new_layout) };
        if !new.is_null() {
            // SAFETY: both ranges are valid for the smaller size and do not overlap.
            unsafe { std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size)) };
        }
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growing_out_of_the_arena_keeps_the_contents() {
        let a = StartupArena;
        let small = Layout::from_size_align(64, 8).unwrap();
        // SAFETY: valid layouts; every pointer is used within its size and freed once.
        unsafe {
            let p = a.alloc(small);
            assert!(!p.is_null());
            for i in 0..64 {
                *p.add(i) = i as u8;
            }
            let q = a.realloc(p, small, LARGEST * 4);
            assert!(!q.is_null() && !in_arena(q), "a large block comes from malloc");
            assert!((0..64).all(|i| *q.add(i) == i as u8));
            a.dealloc(q, Layout::from_size_align(LARGEST * 4, 8).unwrap());
        }
        assert!(bump(Layout::from_size_align(LARGEST + 1, 8).unwrap()).is_none());
    }
}
