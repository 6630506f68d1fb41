//! Options structs that grow (API.md "Growing the ABI"). Version N of a
//! struct is the first bytes of its current layout, so the library reads
//! exactly the fields the caller's version has, gives every later field
//! its default, and never writes a byte past the caller's struct.

use std::mem::MaybeUninit;
use std::ptr;

use super::null_error;
use crate::error::Error;

/// A C options struct that starts with its `uint32_t version` field and
/// only ever grows at the end.
pub(crate) trait Versioned: Copy {
    /// The struct's C name, for messages.
    const NAME: &'static str;
    /// The size of each version, oldest first: version v is the first
    /// `SIZES[v - 1]` bytes of the current layout. Appending a field means
    /// appending its offset here, before the current size.
    const SIZES: &'static [usize];
    /// The current version, every field at its default.
    fn defaults() -> Self;
}

/// The number of bytes version `version` of `T` has.
fn size_of_version<T: Versioned>(version: u32) -> Result<usize, Error> {
    let known = T::SIZES.len();
    usize::try_from(version)
        .ok()
        .filter(|v| (1..=known).contains(v))
        .map(|v| T::SIZES[v - 1])
        .ok_or_else(|| {
            Error::invalid_argument(format!(
                "{name}.version is {version}, but this library knows versions 1 to {known} of \
                 {name}; fill the struct with {name}_init first",
                name = T::NAME
            ))
        })
}

/// Fills `opts` with the defaults of `version`, writing exactly that
/// version's bytes. For a version this library does not know, only the
/// version field is written (every version has it), so that a later
/// create refuses the struct with a sentence naming the version.
///
/// # Safety
/// `opts` is NULL or points to a writable struct of at least `version`'s
/// size, aligned for `T`.
pub(crate) unsafe fn init<T: Versioned>(opts: *mut T, version: u32) -> Result<(), Error> {
    if opts.is_null() {
        return Err(null_error("opts"));
    }
    let size = match size_of_version::<T>(version) {
        Ok(size) => size,
        Err(e) => {
            // SAFETY: `opts` is writable and every version of `T` starts
            // with its u32 version field.
            unsafe { opts.cast::<u32>().write(version) };
            return Err(e);
        }
    };
    let mut defaults = T::defaults();
    // SAFETY: `T` starts with its u32 version field (checked where each
    // `Versioned` impl is declared).
    unsafe { (&raw mut defaults).cast::<u32>().write(version) };
    // SAFETY: `size` is at most `size_of::<T>()` (so within `defaults`)
    // and at most the caller's struct of this version (writable by
    // contract); the two do not overlap.
    unsafe {
        ptr::copy_nonoverlapping((&raw const defaults).cast::<u8>(), opts.cast::<u8>(), size)
    };
    Ok(())
}

/// The caller's struct as the current version: its version's bytes, then
/// every later field at its default.
pub(crate) struct Filled<T>(MaybeUninit<T>);

impl<T> Filled<T> {
    /// The filled struct. Its `bool` fields hold whatever byte the caller
    /// wrote, so read them with `input::flag`, and never copy the whole
    /// struct as a `T`.
    pub fn as_ptr(&self) -> *const T {
        self.0.as_ptr()
    }
}

/// Reads the caller's struct, checking its version.
///
/// # Safety
/// `opts` is NULL or points to a readable struct of the size its version
/// field says, aligned for `T`.
pub(crate) unsafe fn read<T: Versioned>(opts: *const T) -> Result<Filled<T>, Error> {
    if opts.is_null() {
        return Err(null_error("options"));
    }
    // SAFETY: readable by contract; every version starts with the field.
    let version = unsafe { opts.cast::<u32>().read() };
    let size = size_of_version::<T>(version)?;
    let mut filled = MaybeUninit::new(T::defaults());
    // SAFETY: `size` bytes are readable at `opts` (the caller's version)
    // and fit in `filled` (at most the current size); byte copies, so the
    // caller's bool bytes are not taken as Rust bools here.
    unsafe { ptr::copy_nonoverlapping(opts.cast::<u8>(), filled.as_mut_ptr().cast::<u8>(), size) };
    Ok(Filled(filled))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{offset_of, size_of};

    /// A struct at version 2, whose version 1 ended before `b`.
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Grown {
        version: u32,
        a: u32,
        b: u64,
        c: u8,
    }

    impl Versioned for Grown {
        const NAME: &'static str = "grown";
        const SIZES: &'static [usize] = &[offset_of!(Grown, b), size_of::<Grown>()];
        fn defaults() -> Grown {
            Grown {
                version: 2,
                a: 7,
                b: 9,
                c: 1,
            }
        }
    }

    /// A version-1 struct (aligned as the current one) and bytes after it.
    #[repr(C, align(8))]
    struct Guarded {
        v1: [u32; 2],
        guard: [u8; 32],
    }

    #[test]
    fn init_writes_exactly_the_callers_version() {
        let mut g = Guarded {
            v1: [0xAAAA_AAAA; 2],
            guard: [0xA5; 32],
        };
        // SAFETY: `g.v1` is version 1 of Grown (8 bytes), aligned for it.
        unsafe { init((&raw mut g).cast::<Grown>(), 1) }.unwrap();
        assert_eq!(g.v1, [1, 7]);
        assert_eq!(g.guard, [0xA5; 32]);

        for bad in [0, 3] {
            // SAFETY: `g` starts with a version-1 Grown, aligned for it.
            let e = unsafe { init((&raw mut g).cast::<Grown>(), bad) }.unwrap_err();
            assert!(
                e.message.contains(&format!("version is {bad}")),
                "{}",
                e.message
            );
            assert!(e.message.contains("versions 1 to 2"), "{}", e.message);
            assert_eq!(g.v1, [bad, 7], "only the version field is written");
            assert_eq!(g.guard, [0xA5; 32]);
        }
    }

    #[test]
    fn read_takes_the_callers_fields_and_defaults_for_later_ones() {
        // Version 1, followed by bytes that are not the caller's.
        #[repr(C, align(8))]
        struct Raw([u32; 8]);
        let caller = Raw([1, 5, 0xFFFF_FFFF, 0xFFFF_FFFF, 0xFF, 0, 0, 0]);
        // SAFETY: `caller` starts with a version-1 Grown, aligned for it.
        let filled = unsafe { read((&raw const caller).cast::<Grown>()) }.unwrap();
        // SAFETY: `filled` is fully initialised.
        let g = unsafe { filled.as_ptr().read() };
        assert_eq!((g.version, g.a, g.b, g.c), (1, 5, 9, 1));

        let v2 = Grown {
            version: 2,
            a: 1,
            b: 2,
            c: 0,
        };
        // SAFETY: a whole current struct.
        let g = unsafe { read(&v2).unwrap().as_ptr().read() };
        assert_eq!((g.a, g.b, g.c), (1, 2, 0));

        let zero = Grown { version: 0, ..v2 };
        // SAFETY: a whole current struct.
        let e = unsafe { read(&zero) }.err().unwrap();
        assert!(e.message.contains("grown.version is 0"), "{}", e.message);
    }
}
