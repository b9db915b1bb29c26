//! The harness's seeded randomness: SplitMix64, and the derivation of each trial's own seed
//! from the run's seed, the command and the trial's number, so that any one trial can be
//! replayed without the others.

pub(super) struct Rng(u64);

impl Rng {
    pub(super) fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub(super) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, n).
    pub(super) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// Uniform in [0, 1).
    pub(super) fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The seed of trial `index` of command `name` in the run seeded `seed`.
pub(super) fn mix(seed: u64, name: &str, index: u64) -> u64 {
    let mut rng = Rng::new(seed);
    for b in name.bytes().chain(index.to_le_bytes()) {
        rng.0 ^= u64::from(b);
        rng.next();
    }
    rng.next()
}
