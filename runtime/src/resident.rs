//! Zeroed buffers whose memory is mapped when they are made.
//!
//! A large `vec![0.0; n]` comes from the operating system as untouched pages: each page is
//! mapped at its first write, a fault costing one to three microseconds. For the buffers every
//! training step writes (gradients, activations, the staged copies of the parameters and
//! optimizer state), that cost would land on the first step: 60–80 ms on a network of 6 M
//! parameters. Buffers made here pay it when they are made instead.
//!
//! On Linux the new pages are mapped in one call (`MADV_POPULATE_WRITE`, Linux 5.14) rather
//! than by one fault each, which takes 40% less time (5 ms for 16 MiB against 8.3 ms on the
//! development machine). Where the call is missing the writes that follow map the pages.
//! Huge pages (`MADV_HUGEPAGE`) map faster still, but where free memory is fragmented the
//! kernel compacts it first, inside the call: making W4 went from 81 to 255 ms.

/// Buffers smaller than this are mapped by their writes: a call is not worth it.
const MAP_AT_ONCE_MIN_BYTES: usize = 64 << 10;

/// `len` zeros, every page of them mapped.
pub fn zeros<T: Copy + num_traits::Zero>(len: usize) -> Vec<T> {
    let mut buffer = Vec::new();
    resize(&mut buffer, len, T::zero());
    buffer
}

/// An empty buffer with room for `len` elements, its pages mapped: for values computed one
/// by one (the parameters' initial values), which would otherwise be written twice.
pub fn with_capacity<T>(len: usize) -> Vec<T> {
    let mut buffer = Vec::with_capacity(len);
    map_spare_capacity(&mut buffer);
    buffer
}

/// `buffer.resize(len, fill)`, with new memory mapped now (every new element is written).
/// Elements kept keep their values; shrinking keeps the allocation.
pub fn resize<T: Copy>(buffer: &mut Vec<T>, len: usize, fill: T) {
    if len > buffer.capacity() {
        let mut grown = with_capacity(len);
        grown.extend_from_slice(buffer);
        *buffer = grown;
    }
    buffer.resize(len, fill);
}

/// [`resize`] for each of `buffers`, for generated code: one call per length a network's
/// buffers share (`resize_all(&mut [&mut self.act1, &mut self.act2], batch * 64, 0.0)`).
/// Returns the bytes they hold now (their capacity).
pub fn resize_all<T: Copy>(buffers: &mut [&mut Vec<T>], len: usize, fill: T) -> usize {
    let mut capacity = 0;
    for buffer in buffers {
        resize(buffer, len, fill);
        capacity += buffer.capacity();
    }
    capacity * std::mem::size_of::<T>()
}

/// Maps the pages of the unused capacity of `buffer` in one call, before any is touched.
fn map_spare_capacity<T>(buffer: &mut Vec<T>) {
    let bytes = (buffer.capacity() - buffer.len()) * std::mem::size_of::<T>();
    if bytes < MAP_AT_ONCE_MIN_BYTES {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        const PAGE: usize = 4096;
        let start = buffer.spare_capacity_mut().as_mut_ptr() as usize;
        let (first, end) = (start.next_multiple_of(PAGE), (start + bytes) / PAGE * PAGE);
        if end > first {
            // SAFETY: whole pages inside this allocation's unused capacity, which nothing
            // reads; mapping them writes nothing. The result is ignored: a kernel without
            // the call leaves the pages to be mapped by the writes that follow.
            unsafe { libc::madvise(first as *mut libc::c_void, end - first, libc::MADV_POPULATE_WRITE) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeros_are_zeros_of_the_asked_length() {
        for len in [0, 1, 1023, 1024, 1025, 300_000, 3 << 20] {
            let b = zeros::<f32>(len);
            assert_eq!(b.len(), len);
            assert!(b.iter().all(|&v| v == 0.0));
        }
    }

    #[test]
    fn resize_keeps_the_old_elements_and_fills_the_new() {
        let mut b = vec![1.5f64, 2.5];
        resize(&mut b, 2 << 20, 7.0);
        assert_eq!((b[0], b[1], b[2], b.len()), (1.5, 2.5, 7.0, 2 << 20));
        assert!(b[2..].iter().all(|&v| v == 7.0));
        let capacity = b.capacity();
        resize(&mut b, 3, 0.0);
        assert_eq!((b.as_slice(), b.capacity()), ([1.5, 2.5, 7.0].as_slice(), capacity));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn every_page_of_a_new_buffer_is_resident() {
        let buffer = zeros::<f32>(1 << 20);
        let page = 4096;
        let start = (buffer.as_ptr() as usize).next_multiple_of(page);
        let end = (buffer.as_ptr() as usize + buffer.len() * 4) / page * page;
        let mut resident = vec![0u8; (end - start) / page];
        // SAFETY: whole pages inside the buffer; `resident` has one byte per page.
        let status = unsafe { libc::mincore(start as *mut libc::c_void, end - start, resident.as_mut_ptr()) };
        assert_eq!(status, 0);
        assert!(resident.iter().all(|&r| r & 1 == 1), "every page mapped");
    }
}
