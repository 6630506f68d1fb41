//! libcurl's allocator: mimalloc for small blocks, set as the library
//! loads.
//!
//! libcurl allocates and frees dozens of small blocks per request (82 per
//! HTTP/2 GET here: header lines, dynamic buffers, URL parts), and glibc's
//! malloc and free took a fifth of the event thread's instructions.
//! `curl_global_init_mem` routes the allocations of the libcurl this
//! library links in statically through mimalloc; the host's allocations,
//! and nettask's own Rust ones, keep the process allocator. Blocks over
//! `SMALL` bytes (a few per handle, none per request) stay with the system
//! allocator: mimalloc rounds a block up to its size class, up to 14%
//! (libcurl's 3,128-byte easy handle takes 3,584), which an idle task
//! would pay in memory; a free goes to whichever allocator owns the block.
//!
//! libcurl takes an allocator only at its first initialisation, and must
//! not free with one allocator what it allocated with the other. The curl
//! crate initialises libcurl from a load-time constructor (`.init_array`),
//! so this module's constructor sits in a prioritised `.init_array.*`
//! section, which the loader runs before the unprioritised ones. Where
//! that ordering does not exist (not ELF), libcurl keeps the system
//! allocator.
//!
//! `NETTASK_CURL_ALLOCATOR=system` in the environment also keeps it: leak
//! checkers (valgrind, LeakSanitizer) see the system allocator's blocks,
//! not mimalloc's, and `scripts/check-c.sh` runs them so.

#[cfg(any(target_os = "linux", target_os = "android"))]
mod elf {
    use std::ffi::{c_char, c_void};

    use libmimalloc_sys::{mi_free, mi_is_in_heap_region, mi_malloc, mi_realloc, mi_zalloc};

    /// The largest block mimalloc serves (the module doc).
    const SMALL: usize = 2048;

    /// Runs before the curl crate's constructor (the module doc): 101 is
    /// the first priority free for programs (0-100 are the C runtime's).
    #[used]
    #[unsafe(link_section = ".init_array.00101")]
    pub static SET_CURL_ALLOCATOR: extern "C" fn() = set_curl_allocator;

    extern "C" fn set_curl_allocator() {
        // SAFETY: the name is a C string; getenv's answer is only compared.
        let choice = unsafe { libc::getenv(c"NETTASK_CURL_ALLOCATOR".as_ptr()) };
        // SAFETY: a non-NULL answer is a C string in the environment.
        if !choice.is_null() && unsafe { std::ffi::CStr::from_ptr(choice) } == c"system" {
            return;
        }
        // SAFETY: the five functions have libcurl's signatures and are
        // thread-safe, and this runs as the library loads, before any
        // libcurl call (if libcurl was initialised already, it keeps the
        // allocator it has and only counts this call).
        let rc = unsafe {
            curl_sys::curl_global_init_mem(
                curl_sys::CURL_GLOBAL_ALL,
                malloc,
                free,
                realloc,
                strdup,
                calloc,
            )
        };
        // A failure leaves libcurl uninitialised: the curl crate's
        // constructor initialises it with the system allocator.
        let _ = rc;
    }

    extern "C" fn malloc(size: usize) -> *mut c_void {
        if size <= SMALL {
            // SAFETY: mi_malloc takes any size; NULL when it fails.
            unsafe { mi_malloc(size) }
        } else {
            // SAFETY: as mi_malloc.
            unsafe { libc::malloc(size) }
        }
    }

    extern "C" fn free(p: *mut c_void) {
        // SAFETY: libcurl frees only NULL or what these functions gave it
        // (they are its allocator from its first initialisation on), and
        // mimalloc knows the blocks it gave.
        unsafe {
            if mi_is_in_heap_region(p) {
                mi_free(p)
            } else {
                libc::free(p)
            }
        }
    }

    extern "C" fn realloc(p: *mut c_void, size: usize) -> *mut c_void {
        if p.is_null() {
            return malloc(size);
        }
        // SAFETY: `p` is a live block from these functions, resized by the
        // allocator that owns it.
        unsafe {
            if mi_is_in_heap_region(p) {
                mi_realloc(p, size)
            } else {
                libc::realloc(p, size)
            }
        }
    }

    extern "C" fn strdup(s: *const c_char) -> *mut c_char {
        // SAFETY: libcurl passes a NUL-terminated string.
        let len = unsafe { libc::strlen(s) } + 1;
        let copy = malloc(len).cast::<c_char>();
        if !copy.is_null() {
            // SAFETY: `copy` has room for `len` bytes, which `s` holds.
            unsafe { std::ptr::copy_nonoverlapping(s, copy, len) };
        }
        copy
    }

    extern "C" fn calloc(count: usize, size: usize) -> *mut c_void {
        match count.checked_mul(size) {
            // SAFETY: mi_zalloc takes any size; NULL when it fails.
            Some(total) if total <= SMALL => unsafe { mi_zalloc(total) },
            // SAFETY: calloc checks count × size itself.
            _ => unsafe { libc::calloc(count, size) },
        }
    }
}

/// Keeps the constructor in every link: an object file nothing refers to
/// may be left out of a binary, its `.init_array` entry with it.
pub fn keep() {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    std::hint::black_box(&elf::SET_CURL_ALLOCATOR);
}

#[cfg(all(test, any(target_os = "linux", target_os = "android")))]
mod tests {
    use libmimalloc_sys::mi_is_in_heap_region;

    /// The constructor ran before the curl crate's: a list node (16 bytes)
    /// is mimalloc's, an easy handle (over 2 KiB) the system allocator's.
    #[test]
    fn libcurl_allocates_small_blocks_with_mimalloc_and_large_ones_with_the_system() {
        let system = std::env::var("NETTASK_CURL_ALLOCATOR").is_ok_and(|v| v == "system");
        // SAFETY: a NULL list and a C string make a new one-node list,
        // freed below; the easy handle is made and cleaned up here.
        unsafe {
            let list = curl_sys::curl_slist_append(std::ptr::null_mut(), c"a".as_ptr());
            assert!(!list.is_null());
            assert_eq!(mi_is_in_heap_region(list.cast()), !system);
            assert_eq!(mi_is_in_heap_region((*list).data.cast()), !system);
            curl_sys::curl_slist_free_all(list);
            let easy = curl_sys::curl_easy_init();
            assert!(!easy.is_null());
            assert!(!mi_is_in_heap_region(easy.cast()));
            curl_sys::curl_easy_cleanup(easy);
        }
    }
}
