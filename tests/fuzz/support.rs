//! What both targets share: the run's settings from the environment, the
//! PRNG every case is drawn from, the findings report, and escaping bytes
//! for it.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::ops::RangeInclusive;
use std::time::{Duration, Instant};

/// The seed when `NETTASK_FUZZ_SEED` is not set: fixed, so `cargo test`
/// runs the same cases every time.
const DEFAULT_SEED: u64 = 0x6e65_7474_6173_6b31;

/// Seconds per target when `NETTASK_FUZZ_SECS` is not set: short enough
/// for `cargo test`.
const DEFAULT_SECS: f64 = 3.0;

/// How one target runs, from the environment.
pub struct Config {
    pub target: &'static str,
    pub seed: u64,
    pub duration: Duration,
    /// `NETTASK_FUZZ_ITER`: replay this one case only.
    pub only: Option<u64>,
    pub started: Instant,
}

impl Config {
    pub fn from_env(target: &'static str) -> Config {
        let seed = env_number("NETTASK_FUZZ_SEED").unwrap_or(DEFAULT_SEED);
        let secs = std::env::var("NETTASK_FUZZ_SECS")
            .ok()
            .and_then(|s| s.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
            .unwrap_or(DEFAULT_SECS);
        let only = env_number("NETTASK_FUZZ_ITER");
        println!(
            "fuzz {target}: seed {seed:#x} (NETTASK_FUZZ_SEED), {secs} s (NETTASK_FUZZ_SECS){}",
            only.map_or(String::new(), |i| format!(", replaying iteration {i} only"))
        );
        Config {
            target,
            seed,
            duration: Duration::from_secs_f64(secs),
            only,
            started: Instant::now(),
        }
    }

    /// The next iteration to run, or None when the time is up (or the one
    /// replayed case has run).
    pub fn next_iteration(&self, done: u64) -> Option<u64> {
        match self.only {
            Some(i) => (done == 0).then_some(i),
            None => (self.started.elapsed() < self.duration).then_some(done),
        }
    }

    /// The PRNG of one case: a function of the seed and the iteration
    /// only, so a case is replayed without running the ones before it.
    pub fn case_rng(&self, iteration: u64) -> Rng {
        Rng::new(self.seed ^ iteration.wrapping_mul(0xD1B5_4A32_D192_ED03))
    }
}

/// A decimal or 0x-hexadecimal number from the environment.
fn env_number(name: &str) -> Option<u64> {
    let text = std::env::var(name).ok()?;
    let text = text.trim();
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
    .or_else(|| panic!("{name}={text:?} is not a number"))
}

/// splitmix64: tiny, fast, and good enough to pick fuzz inputs.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        let mut rng = Rng(seed);
        rng.next_u64(); // so that nearby seeds diverge at once
        rng
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// 0..n; n must not be 0.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn range(&mut self, r: RangeInclusive<usize>) -> usize {
        r.start() + self.below(r.end() - r.start() + 1)
    }

    /// True with probability `num / den`.
    pub fn chance(&mut self, num: usize, den: usize) -> bool {
        self.below(den) < num
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    pub fn byte(&mut self) -> u8 {
        self.next_u64() as u8
    }

    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.byte()).collect()
    }

    /// Printable ASCII without space.
    pub fn printable(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| b'!' + self.below(94) as u8).collect()
    }

    /// A length, mostly short, sometimes long.
    pub fn len(&mut self) -> usize {
        match self.below(10) {
            0 => 0,
            1..=6 => self.range(1..=16),
            7 | 8 => self.range(17..=300),
            _ => self.range(301..=70_000),
        }
    }

    /// A u32 from the values that break code: 0, 1, powers of two and
    /// their neighbours, the maximum, or anything.
    pub fn u32(&mut self) -> u32 {
        match self.below(8) {
            0 => 0,
            1 => 1,
            2 => u32::MAX,
            3 => u32::MAX - self.below(2) as u32,
            4 => (1u32 << self.below(32))
                .wrapping_add(self.below(3) as u32)
                .wrapping_sub(1),
            5 => self.range(2..=100) as u32,
            _ => self.next_u64() as u32,
        }
    }

    pub fn u64(&mut self) -> u64 {
        match self.below(6) {
            0 => 0,
            1 => u64::MAX,
            2 => 1u64 << self.below(64),
            3 => self.range(1..=10_000) as u64,
            _ => self.next_u64(),
        }
    }

    /// The byte of a C `bool` field: mostly 0 or 1, sometimes a byte no
    /// C compiler writes (the library reads bools by their byte).
    pub fn flag_byte(&mut self) -> u8 {
        match self.below(8) {
            0..=2 => 0,
            3..=5 => 1,
            6 => *self.pick(&[2, 0x80, 0xff]),
            _ => self.byte(),
        }
    }
}

/// Bytes as a Rust byte-string literal would show them, at most `max` of
/// them (the rest counted), so a report stays readable for a 8 MiB URL.
pub fn escape(bytes: &[u8], max: usize) -> String {
    let mut out = String::with_capacity(bytes.len().min(max) + 2);
    out.push('"');
    for &b in bytes.iter().take(max) {
        match b {
            b'\r' => out.push_str("\\r"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            0 => out.push_str("\\0"),
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out.push('"');
    if bytes.len() > max {
        let _ = write!(out, "... ({} bytes in all)", bytes.len());
    }
    out
}

/// One class of findings: how often it was seen and its first examples.
struct Class {
    count: u64,
    /// (iteration, description), oldest first.
    examples: Vec<(u64, String)>,
}

/// Invariant violations, grouped by class so that an hour's run reports
/// each kind of bug once, with the first inputs that showed it
/// (`NETTASK_FUZZ_EXAMPLES` of them, default 1).
pub struct Findings {
    classes: BTreeMap<String, Class>,
    total: u64,
    examples: usize,
}

impl Findings {
    pub fn new() -> Findings {
        let examples = env_number("NETTASK_FUZZ_EXAMPLES").map_or(1, |n| n.max(1) as usize);
        Findings {
            classes: BTreeMap::new(),
            total: 0,
            examples,
        }
    }

    /// Records a violation: `class` names the invariant (and what broke
    /// it), `detail` describes the input and what was observed; it is
    /// only built for the first findings of a class.
    pub fn add(
        &mut self,
        iteration: u64,
        class: impl Into<String>,
        detail: impl FnOnce() -> String,
    ) {
        self.total += 1;
        let class = self.classes.entry(class.into()).or_insert_with(|| Class {
            count: 0,
            examples: Vec::new(),
        });
        class.count += 1;
        if class.examples.len() < self.examples {
            class.examples.push((iteration, detail()));
        }
    }

    /// Prints the summary line, then fails the test if anything was found,
    /// with every class, its count and replayable examples.
    pub fn finish(self, config: &Config, executions: u64) {
        let secs = config.started.elapsed().as_secs_f64();
        println!(
            "fuzz {}: {executions} executions, {} findings in {secs:.1} s",
            config.target, self.total
        );
        if self.total == 0 {
            return;
        }
        let mut report = format!(
            "fuzz {}: {} findings in {} classes (seed {:#x})\n",
            config.target,
            self.total,
            self.classes.len(),
            config.seed
        );
        for (name, c) in &self.classes {
            let _ = writeln!(report, "\n== {name}: {} times", c.count);
            for (iteration, detail) in &c.examples {
                let _ = writeln!(
                    report,
                    "-- iteration {iteration}; replay with NETTASK_FUZZ_SEED={:#x} \
                     NETTASK_FUZZ_ITER={iteration} cargo test --release --test fuzz {} -- --nocapture\n{detail}",
                    config.seed, config.target
                );
            }
        }
        panic!("{report}");
    }
}

/// How often each outcome was seen, printed at the end of a run to show
/// what it reached (a target whose tasks all fail at create finds little).
#[derive(Default)]
pub struct Stats(BTreeMap<String, u64>);

impl Stats {
    pub fn count(&mut self, what: String) {
        *self.0.entry(what).or_default() += 1;
    }

    pub fn print(&self, target: &str) {
        let parts: Vec<String> = self.0.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        println!("fuzz {target}: {}", parts.join(", "));
    }
}
