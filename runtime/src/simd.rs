//! Wide vectors for the loops outside the GEMM, chosen at run time.
//!
//! The crate is compiled for the baseline x86-64 (SSE2: four f32 lanes). [`wide`] runs a
//! closure through a function compiled with AVX2 enabled when the CPU has it, so the loops
//! inlined into it use eight lanes. Results are bit-identical either way: Rust never fuses a
//! multiply and an add, nor reorders a floating-point sum, so only the vector width changes.

/// Runs `f`, compiled for AVX2 where the CPU supports it.
#[inline(always)]
pub fn wide<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2.
            return unsafe { avx2(f) };
        }
    }
    f()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn avx2<R>(f: impl FnOnce() -> R) -> R {
    f()
}
