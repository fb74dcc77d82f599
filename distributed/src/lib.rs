//! Data-parallel training of gradc networks on MPI.
//!
//! [`Mpi`] is a [`gradc::distributed::Collective`] over `MPI_COMM_WORLD` (through rsmpi), so
//! the runtime's [`DataParallel`](gradc::distributed::DataParallel) and
//! `FitOptions::distributed` train on as many processes and machines as `mpirun` starts:
//!
//! ```text
//! mpirun -np 2 target/release/examples/digits_mpi
//! ```
//!
//! The semantics are PyTorch DDP's (see [`gradc::distributed`]): one all-reduce of all the
//! gradients per step, in one flat buffer; the same update on every replica.
//!
//! Failures: MPI's default error handler ends the job on an MPI error, and `mpirun` ends every
//! process of a job when one of them dies, so a killed process never leaves the others
//! waiting in an all-reduce. A step that fails in gradc (a non-finite loss on one process)
//! is reported to all processes by the same all-reduce, and none changes anything.
//!
//! Without the `mpi` feature the crate is empty, so that the workspace builds on machines
//! without MPI.

#[cfg(feature = "mpi")]
mod world;

#[cfg(feature = "mpi")]
pub use world::Mpi;
