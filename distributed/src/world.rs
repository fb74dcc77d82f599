//! `MPI_COMM_WORLD` as a gradc [`Collective`].

use std::cell::{Cell, RefCell};
use std::fmt;
use std::time::{Duration, Instant};

use gradc::distributed::{Collective, Values};
use mpi::collective::SystemOperation;
use mpi::environment::Universe;
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;

/// The processes `mpirun` started, as one group. Initializes MPI when made and finalizes it
/// when dropped, so make one per program.
pub struct Mpi {
    world: SimpleCommunicator,
    /// The send side of each all-reduce (MPI reduces from one buffer into another); kept so
    /// that a warm step allocates nothing.
    send_f32: RefCell<Vec<f32>>,
    send_f64: RefCell<Vec<f64>>,
    /// Wall time spent in collective operations so far, for the communication share.
    communication: Cell<Duration>,
    /// Dropped last: finalizes MPI.
    _universe: Universe,
}

impl Mpi {
    /// Initializes MPI. `Err` if it was already initialized in this process.
    ///
    /// Unless `GRADC_THREADS` says otherwise, it also shares the machine's cores among the
    /// processes running on it: each gets `cores / processes on this machine` threads (at
    /// least 1), so that two processes on a 2-core machine do not run four threads.
    pub fn init() -> gradc::Result<Mpi> {
        let universe = mpi::initialize()
            .ok_or_else(|| gradc::Error::Distributed("MPI is already initialized in this process".into()))?;
        let world = universe.world();
        if std::env::var_os("GRADC_THREADS").is_none() {
            let here = world.split_shared(world.rank()).size().max(1) as usize;
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            gradc::set_threads((cores / here).max(1));
        }
        Ok(Mpi {
            world,
            send_f32: RefCell::new(Vec::new()),
            send_f64: RefCell::new(Vec::new()),
            communication: Cell::new(Duration::ZERO),
            _universe: universe,
        })
    }

    /// The world communicator, for operations of the program's own.
    pub fn world(&self) -> &SimpleCommunicator {
        &self.world
    }

    /// Waits until every process got here.
    pub fn barrier(&self) {
        self.world.barrier();
    }

    /// Wall time spent in all-reduces and broadcasts since the start (or the last reset):
    /// transfer, and waiting for slower processes.
    pub fn communication_time(&self) -> Duration {
        self.communication.get()
    }

    /// Starts counting [`Mpi::communication_time`] from zero.
    pub fn reset_communication_time(&self) {
        self.communication.set(Duration::ZERO);
    }

    fn timed(&self, work: impl FnOnce()) {
        let start = Instant::now();
        work();
        self.communication.set(self.communication.get() + start.elapsed());
    }
}

impl fmt::Debug for Mpi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mpi").field("rank", &self.rank()).field("size", &self.size()).finish()
    }
}

impl Collective for Mpi {
    fn rank(&self) -> usize {
        self.world.rank() as usize
    }

    fn size(&self) -> usize {
        self.world.size() as usize
    }

    fn all_reduce_sum(&self, values: Values<'_>) -> gradc::Result<()> {
        // MPI's default error handler ends the job on a failure, so there is no error to return.
        self.timed(|| match values {
            Values::F32(v) => {
                let mut send = self.send_f32.borrow_mut();
                send.clear();
                send.extend_from_slice(v);
                self.world.all_reduce_into(&send[..], v, SystemOperation::sum());
            }
            Values::F64(v) => {
                let mut send = self.send_f64.borrow_mut();
                send.clear();
                send.extend_from_slice(v);
                self.world.all_reduce_into(&send[..], v, SystemOperation::sum());
            }
        });
        Ok(())
    }

    fn broadcast(&self, values: Values<'_>, root: usize) -> gradc::Result<()> {
        if root >= self.size() {
            return Err(gradc::Error::Distributed(format!("no rank {root} in a group of {}", self.size())));
        }
        let root = self.world.process_at_rank(root as i32);
        self.timed(|| match values {
            Values::F32(v) => root.broadcast_into(v),
            Values::F64(v) => root.broadcast_into(v),
        });
        Ok(())
    }
}
