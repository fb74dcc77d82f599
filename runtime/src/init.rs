//! Parameter initializers and the seeded random streams they draw from.
//!
//! Every parameter draws from its own ChaCha8 stream, selected by the parameter's index, so
//! `Net::new(seed)` is deterministic and a parameter's values do not depend on the sizes of
//! the parameters before it.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::Float;

/// How a parameter tensor starts (DESIGN §2). Fans come from a `[out, in]` weight shape.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Init {
    /// Normal with std √(2/(in+out)).
    GlorotNormal,
    /// Uniform in ±√(6/(in+out)).
    GlorotUniform,
    /// Normal with std √(2/in).
    HeNormal,
    /// Uniform in ±√(6/in).
    HeUniform,
    /// Normal with std √(1/in).
    LecunNormal,
    /// Uniform in ±√(3/in).
    LecunUniform,
    /// All zeros.
    Zeros,
    /// Normal with the given std.
    Normal(f64),
    /// Uniform in ±limit.
    Uniform(f64),
    /// Every element the given value (biases, PReLU slopes, batch-norm scales).
    Constant(f64),
}

/// The distribution an [`Init`] resolves to for a given shape.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum InitDistribution {
    /// Normal with mean 0 and this std.
    Normal { std: f64 },
    /// Uniform on [−limit, limit).
    Uniform { limit: f64 },
    /// A constant.
    Constant { value: f64 },
}

impl Init {
    /// `(fan_in, fan_out)` of a shape as PyTorch computes them: `[out, in, kh, kw..]` has
    /// `in·kh·kw` in and `out·kh·kw` out (a dense weight has no kernel axes); `[n]` counts as n
    /// in and n out.
    pub fn fans(shape: &[usize]) -> (usize, usize) {
        match shape {
            [out, inp, kernel @ ..] => {
                let receptive: usize = kernel.iter().product();
                (inp * receptive, out * receptive)
            }
            [n] => (*n, *n),
            [] => (1, 1),
        }
    }

    /// The distribution this initializer samples from for a tensor of `shape`.
    pub fn distribution(self, shape: &[usize]) -> InitDistribution {
        let (fan_in, fan_out) = Self::fans(shape);
        let (fi, fo) = (fan_in.max(1) as f64, fan_out.max(1) as f64);
        match self {
            Init::GlorotNormal => InitDistribution::Normal { std: (2.0 / (fi + fo)).sqrt() },
            Init::GlorotUniform => InitDistribution::Uniform { limit: (6.0 / (fi + fo)).sqrt() },
            Init::HeNormal => InitDistribution::Normal { std: (2.0 / fi).sqrt() },
            Init::HeUniform => InitDistribution::Uniform { limit: (6.0 / fi).sqrt() },
            Init::LecunNormal => InitDistribution::Normal { std: (1.0 / fi).sqrt() },
            Init::LecunUniform => InitDistribution::Uniform { limit: (3.0 / fi).sqrt() },
            Init::Zeros => InitDistribution::Constant { value: 0.0 },
            Init::Normal(std) => InitDistribution::Normal { std },
            Init::Uniform(limit) => InitDistribution::Uniform { limit },
            Init::Constant(value) => InitDistribution::Constant { value },
        }
    }

    /// Samples a tensor of `shape` from `rng`, into memory mapped now (see [`crate::resident`]).
    pub fn sample<T: Float>(self, shape: &[usize], rng: &mut ChaCha8Rng) -> Vec<T> {
        let len = shape.iter().product();
        let mut values = crate::resident::with_capacity::<T>(len);
        match self.distribution(shape) {
            InitDistribution::Normal { std } => values.extend((0..len).map(|_| {
                let z: f64 = StandardNormal.sample(rng);
                T::from_f64(std * z)
            })),
            InitDistribution::Uniform { limit } => {
                values.extend((0..len).map(|_| T::from_f64(limit * (2.0 * rng.random::<f64>() - 1.0))))
            }
            InitDistribution::Constant { value } => values.resize(len, T::from_f64(value)),
        }
        values
    }

    /// The name used in the DSL and in summaries (`he_normal`, `normal(0.02)`, ...).
    pub fn name(self) -> String {
        match self {
            Init::GlorotNormal => "glorot_normal".into(),
            Init::GlorotUniform => "glorot_uniform".into(),
            Init::HeNormal => "he_normal".into(),
            Init::HeUniform => "he_uniform".into(),
            Init::LecunNormal => "lecun_normal".into(),
            Init::LecunUniform => "lecun_uniform".into(),
            Init::Zeros => "zeros".into(),
            Init::Normal(std) => format!("normal({std})"),
            Init::Uniform(limit) => format!("uniform({limit})"),
            Init::Constant(value) => format!("constant({value})"),
        }
    }
}

/// The random stream of parameter number `index` of a network built with `seed`.
pub fn param_rng(seed: u64, index: usize) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(index as u64);
    rng
}
