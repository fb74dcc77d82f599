//! Wide vectors for the loops outside the GEMM, chosen at run time.
//!
//! The crate is compiled for the baseline x86-64 (SSE2: four f32 lanes). [`wide`] runs a
//! closure through a function compiled with AVX2 enabled when the CPU has it, so the loops
//! inlined into it use eight lanes. Results are bit-identical either way: Rust never fuses a
//! multiply and an add, nor reorders a floating-point sum, so only the vector width changes.
//! [`widest`] goes on to AVX-512 for the optimizers' update loops: Adam's, bound by its
//! divisions and square root, took 0.41 instead of 0.57 ns per parameter on Zen 4 (W1's 535k
//! parameters, one thread); momentum's, bound by memory, neither gained nor lost.

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

/// A loop [`widest`] compiles for AVX-512. A struct rather than a closure: `run` is marked
/// `#[inline(always)]` by every implementation, so it is always compiled inside the AVX-512
/// function, where a closure is inlined only when LLVM's cost model agrees (Adam's was not,
/// and ran at four lanes).
pub trait WideLoop {
    /// What the loop returns.
    type Output;
    /// Runs the loop; implementations mark it `#[inline(always)]`.
    fn run(self) -> Self::Output;
}

/// Runs `body`, compiled for AVX-512 where the CPU supports it, else as [`wide`] does.
#[inline(always)]
pub fn widest<L: WideLoop>(body: L) -> L::Output {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F.
            return unsafe { avx512(body) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2.
            return unsafe { avx2_loop(body) };
        }
    }
    body.run()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn avx512<L: WideLoop>(body: L) -> L::Output {
    body.run()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn avx2_loop<L: WideLoop>(body: L) -> L::Output {
    body.run()
}
