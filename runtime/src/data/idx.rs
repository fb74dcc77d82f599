//! The IDX format of MNIST and Fashion-MNIST (`train-images-idx3-ubyte`, optionally gzipped),
//! for files the user has on disk.

use std::io::Read;
use std::path::Path;

use ndarray::Array2;

use super::Dataset;
use crate::{Error, Float, Result};

/// An IDX file of unsigned bytes: its dimensions and values.
struct Idx {
    dims: Vec<usize>,
    bytes: Vec<u8>,
}

fn read(path: &Path) -> Result<Idx> {
    let raw = std::fs::read(path).map_err(|source| Error::Io { path: path.display().to_string(), source })?;
    let bad = |why: String| Error::Data(format!("{}: {why}", path.display()));
    // Gzipped files start with 1f 8b.
    let data = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&raw[..]).read_to_end(&mut out).map_err(|e| bad(format!("gzip: {e}")))?;
        out
    } else {
        raw
    };
    if data.len() < 4 || data[0] != 0 || data[1] != 0 {
        return Err(bad("not an IDX file (the magic number must start with two zero bytes)".into()));
    }
    if data[2] != 0x08 {
        return Err(bad(format!("element type 0x{:02x} is not unsigned bytes (0x08)", data[2])));
    }
    let rank = data[3] as usize;
    let header = 4 + 4 * rank;
    if rank == 0 || data.len() < header {
        return Err(bad("the header is cut short".into()));
    }
    let dims: Vec<usize> =
        data[4..header].chunks(4).map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize).collect();
    let len = dims.iter().try_fold(1usize, |n, &d| n.checked_mul(d)).ok_or_else(|| bad("too large".into()))?;
    if data.len() - header != len {
        return Err(bad(format!("dimensions {dims:?} make {len} values, but the file holds {}", data.len() - header)));
    }
    Ok(Idx { dims, bytes: data[header..].to_vec() })
}

/// Images of an IDX file as rows of `[height · width]` features scaled to [0, 1].
pub fn read_idx_images<T: Float>(path: impl AsRef<Path>) -> Result<Array2<T>> {
    let idx = read(path.as_ref())?;
    let count = idx.dims[0];
    let width = idx.dims[1..].iter().product::<usize>();
    let values = idx.bytes.iter().map(|&b| T::from_f64(f64::from(b) / 255.0)).collect();
    Ok(Array2::from_shape_vec((count, width), values).expect("sizes were checked"))
}

/// The labels of an IDX file (one dimension).
pub fn read_idx_labels(path: impl AsRef<Path>) -> Result<Vec<usize>> {
    let path = path.as_ref();
    let idx = read(path)?;
    if idx.dims.len() != 1 {
        return Err(Error::Data(format!("{}: labels have one dimension, found {:?}", path.display(), idx.dims)));
    }
    Ok(idx.bytes.iter().map(|&b| usize::from(b)).collect())
}

/// MNIST (or Fashion-MNIST) from an images file and a labels file: 10 classes.
pub fn mnist<T: Float>(images: impl AsRef<Path>, labels: impl AsRef<Path>) -> Result<Dataset<T>> {
    let x = read_idx_images(images)?;
    let y = read_idx_labels(labels)?;
    Dataset::classification(x, y, 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idx(dims: &[u32], values: &[u8]) -> Vec<u8> {
        let mut out = vec![0, 0, 0x08, dims.len() as u8];
        dims.iter().for_each(|d| out.extend(d.to_be_bytes()));
        out.extend(values);
        out
    }

    #[test]
    fn images_and_labels_are_read_plain_and_gzipped() {
        let dir = std::env::temp_dir().join(format!("gradc-idx-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let pixels: Vec<u8> = (0..2 * 3 * 2).map(|i| (i * 20) as u8).collect();
        std::fs::write(dir.join("images"), idx(&[2, 3, 2], &pixels)).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &idx(&[2], &[7, 3])).unwrap();
        std::fs::write(dir.join("labels.gz"), gz.finish().unwrap()).unwrap();
        let d: Dataset<f32> = mnist(dir.join("images"), dir.join("labels.gz")).unwrap();
        assert_eq!(d.features.dim(), (2, 6));
        assert_eq!(d.features[[1, 5]], 220.0 / 255.0);
        assert_eq!(d.labels, [7, 3]);

        std::fs::write(dir.join("short"), idx(&[2, 3, 2], &pixels[..11])).unwrap();
        let e = read_idx_images::<f32>(dir.join("short")).unwrap_err();
        assert!(e.to_string().contains("make 12 values, but the file holds 11"), "{e}");
        std::fs::write(dir.join("labels10"), idx(&[1], &[10])).unwrap();
        let e = mnist::<f32>(dir.join("images"), dir.join("labels10")).unwrap_err();
        assert!(e.to_string().contains("got 1 targets for a batch of 2"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
