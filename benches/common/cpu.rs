//! CPU placement for the benches: the client sides run on CPU 0 and the
//! servers on CPU 1, so that no side's runs depend on where the scheduler
//! happens to put the client next to the server.

/// The machine's online CPUs, whatever this process is pinned to.
pub fn cpu_count() -> usize {
    // SAFETY: sysconf reads a system value and has no other effect.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    usize::try_from(n).unwrap_or(1).max(1)
}

/// Keeps this thread, and the threads and processes it starts from now on,
/// on CPU `cpu`.
pub fn pin_to_cpu(cpu: usize) {
    // SAFETY: sched_setaffinity on this thread with a zeroed, then filled,
    // local cpu_set_t of the size passed.
    unsafe {
        let mut set = std::mem::zeroed::<libc::cpu_set_t>();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}
