//! The element types a network can be compiled for (`dtype: f32 | f64`).

use std::fmt::{Debug, Display};
use std::iter::Sum;
use std::ops::{AddAssign, MulAssign, SubAssign};

/// A floating-point element type: `f32` or `f64`.
///
/// Besides `num_traits::Float` it knows its safetensors dtype and `erf`, which the standard
/// library lacks.
pub trait Float:
    num_traits::Float + Debug + Display + Default + Sum + AddAssign + SubAssign + MulAssign + Send + Sync + 'static
{
    /// The dtype this type has in a safetensors file.
    const DTYPE: safetensors::Dtype;
    /// `"f32"` or `"f64"`.
    const NAME: &'static str;

    /// Converts from `f64` (rounding for `f32`).
    fn from_f64(value: f64) -> Self;
    /// Converts to `f64` (exact).
    fn as_f64(self) -> f64;
    /// The error function.
    fn erf(self) -> Self;
    /// Reads one value from little-endian bytes (`bytes.len()` is the type's size).
    fn from_le_slice(bytes: &[u8]) -> Self;
    /// Appends the little-endian bytes of `self`.
    fn extend_le_bytes(self, out: &mut Vec<u8>);
    /// A slice of this type as the buffer a collective operation takes.
    fn values(slice: &mut [Self]) -> crate::distributed::Values<'_>;
    /// Zero exactly when `self` is finite. OR-ing these over a loop checks its results
    /// with integer lanes that vectorize and unroll freely: `x − x` is +0 for a finite `x`
    /// and NaN otherwise, and a NaN's upper 32 bits are never zero.
    fn not_finite_bits(self) -> u32;
}

macro_rules! impl_float {
    ($t:ty, $dtype:ident, $erf:path) => {
        impl Float for $t {
            const DTYPE: safetensors::Dtype = safetensors::Dtype::$dtype;
            const NAME: &'static str = stringify!($t);

            fn from_f64(value: f64) -> Self {
                value as $t
            }
            fn as_f64(self) -> f64 {
                self as f64
            }
            fn erf(self) -> Self {
                $erf(self)
            }
            fn from_le_slice(bytes: &[u8]) -> Self {
                <$t>::from_le_bytes(bytes.try_into().expect("caller passes the type's size"))
            }
            fn extend_le_bytes(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            fn values(slice: &mut [Self]) -> crate::distributed::Values<'_> {
                crate::distributed::Values::$dtype(slice)
            }
            #[inline(always)]
            fn not_finite_bits(self) -> u32 {
                ((self - self).to_bits() >> (8 * std::mem::size_of::<$t>() - 32)) as u32
            }
        }
    };
}

impl_float!(f32, F32, libm::erff);
impl_float!(f64, F64, libm::erf);
