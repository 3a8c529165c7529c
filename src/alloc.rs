//! The process's allocator: mimalloc, for Rust's allocations and for OpenSSL's.
//!
//! OpenSSL allocates with libc's malloc unless it is told otherwise before its first
//! allocation. An upstream mTLS handshake makes hundreds of small allocations (its decoders
//! above all), and glibc's malloc and free were about 8% of strait's CPU time per connection
//! (perf, the bench's `mtls $var file, cache off` row); handing OpenSSL mimalloc's functions
//! makes them cheaper and keeps one allocator in the process.
//!
//! The binary's only `unsafe`: the FFI boundary with OpenSSL's allocator hook.
#![allow(unsafe_code)]

use std::ffi::{c_char, c_int, c_void};

use libmimalloc_sys::{mi_free, mi_malloc, mi_realloc};

/// mimalloc rather than glibc's malloc: see the workspace's Cargo.toml.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

unsafe extern "C" {
    /// OpenSSL's allocator hook (crypto.h, OpenSSL 1.1.0 and later; not in openssl-sys). It
    /// returns 0, changing nothing, once OpenSSL has allocated anything.
    fn CRYPTO_set_mem_functions(
        malloc: unsafe extern "C" fn(usize, *const c_char, c_int) -> *mut c_void,
        realloc: unsafe extern "C" fn(*mut c_void, usize, *const c_char, c_int) -> *mut c_void,
        free: unsafe extern "C" fn(*mut c_void, *const c_char, c_int),
    ) -> c_int;
}

/// Gives OpenSSL mimalloc's functions. Called first thing in `main`, before anything can have
/// touched OpenSSL; if something had, OpenSSL keeps libc's malloc, which is slower, not wrong.
pub(crate) fn route_openssl_allocations() {
    // SAFETY: the three functions behave as OpenSSL's own defaults do (below), and OpenSSL
    // only accepts them before its first allocation, so no block changes allocator.
    unsafe {
        CRYPTO_set_mem_functions(openssl_malloc, openssl_realloc, openssl_free);
    }
}

/// CRYPTO_malloc: no block for a size of 0, as OpenSSL's default gives none.
unsafe extern "C" fn openssl_malloc(
    size: usize,
    _file: *const c_char,
    _line: c_int,
) -> *mut c_void {
    if size == 0 {
        return std::ptr::null_mut();
    }
    // SAFETY: a plain allocation of a non-zero size.
    unsafe { mi_malloc(size) }
}

/// CRYPTO_realloc: a null block is a new allocation and a size of 0 frees, as in OpenSSL.
unsafe extern "C" fn openssl_realloc(
    block: *mut c_void,
    size: usize,
    _file: *const c_char,
    _line: c_int,
) -> *mut c_void {
    if size == 0 {
        // SAFETY: `block` is null or came from these functions.
        unsafe { mi_free(block) };
        return std::ptr::null_mut();
    }
    // SAFETY: as above; mi_realloc of null allocates.
    unsafe { mi_realloc(block, size) }
}

/// CRYPTO_free.
unsafe extern "C" fn openssl_free(block: *mut c_void, _file: *const c_char, _line: c_int) {
    // SAFETY: `block` is null or came from these functions.
    unsafe { mi_free(block) }
}
