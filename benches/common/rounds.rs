//! How many rounds a bench runs: its own default, or NETTASK_BENCH_ROUNDS
//! (more rounds steady the medians on a noisy machine).

pub fn rounds(default: usize) -> usize {
    std::env::var("NETTASK_BENCH_ROUNDS").map_or(default, |n| {
        n.parse()
            .expect("NETTASK_BENCH_ROUNDS is a number of rounds")
    })
}
