//! Zeroed buffers whose memory is mapped when they are made.
//!
//! A large `vec![0.0; n]` comes from the operating system as untouched pages: each page is
//! mapped at its first write, a fault costing about a microsecond. For the buffers every
//! training step writes (gradients, the staged copies of the parameters and optimizer state),
//! that cost lands on the first steps: 60–80 ms on a network of 6 M parameters. Buffers made
//! here pay it when the network is made instead, so the first step costs what any step costs.

use crate::Float;

/// Bytes in the smallest page; touching one element in each maps all of them.
const PAGE_BYTES: usize = 4096;

/// `len` zeros, every page of them mapped.
pub fn zeros<T: Float>(len: usize) -> Vec<T> {
    let mut buffer = vec![T::zero(); len];
    let stride = (PAGE_BYTES / std::mem::size_of::<T>()).max(1);
    for index in (0..buffer.len()).step_by(stride) {
        // A store without a load: reading first would map the shared zero page and then
        // fault again to copy it. Through `black_box` the compiler cannot tell the store
        // writes the allocator's zero again, so it cannot drop it.
        *std::hint::black_box(&mut buffer[index]) = T::zero();
    }
    buffer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeros_are_zeros_of_the_asked_length() {
        for len in [0, 1, 1023, 1024, 1025, 300_000] {
            let b = zeros::<f32>(len);
            assert_eq!(b.len(), len);
            assert!(b.iter().all(|&v| v == 0.0));
        }
    }
}
