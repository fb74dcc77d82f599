//! Data-parallel training on real MPI processes, started with `mpirun` on this machine:
//! exactness against one process, bit-identical replicas, and a killed process ending the job.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const CHECK: &str = env!("CARGO_BIN_EXE_gradc-mpi-check");
/// No MPI job here should take this long; one that does is stuck.
const TIMEOUT: Duration = Duration::from_secs(120);

/// `mpirun -np <processes> gradc-mpi-check <args>`, allowed to run as root (CI does) and on
/// more processes than cores.
fn mpirun(processes: usize, args: &[&str]) -> Command {
    let mut command = Command::new("mpirun");
    command
        .args(["--oversubscribe", "-np", &processes.to_string(), CHECK])
        .args(args)
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1");
    command
}

/// Waits for `child`, killing it and failing after [`TIMEOUT`].
fn wait(mut child: Child) -> (std::process::ExitStatus, Duration) {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("mpirun can be waited for") {
            return (status, start.elapsed());
        }
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            panic!("the MPI job did not end within {TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn run(processes: usize, args: &[&str]) -> Output {
    let child = mpirun(processes, args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("mpirun starts");
    let output = child.wait_with_output().expect("mpirun ends");
    let text = String::from_utf8_lossy(&output.stdout);
    println!("{text}{}", String::from_utf8_lossy(&output.stderr));
    output
}

fn check_exact(processes: usize, dtype: &str) {
    let output = run(processes, &["exact", dtype]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "mpirun -np {processes} exact {dtype} failed");
    assert!(text.contains(&format!("{processes} processes, 10 steps")), "{text}");
    assert!(text.contains("replicas bit-identical after every step"), "{text}");
}

#[test]
fn two_processes_match_one_in_f64() {
    check_exact(2, "f64");
}

#[test]
fn two_processes_match_one_in_f32() {
    check_exact(2, "f32");
}

#[test]
fn three_processes_with_unequal_shards_match_one() {
    check_exact(3, "f64");
}

#[test]
fn a_killed_process_ends_the_job_instead_of_hanging_it() {
    let mut child = mpirun(2, &["train"]).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("mpirun starts");
    let stdout = child.stdout.take().expect("piped");
    // Rank 1 says its process id once it trains.
    let mut victim = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("text");
        if let Some(pid) = line.strip_prefix("rank 1 pid ").and_then(|rest| rest.split(' ').next()) {
            victim = Some(pid.to_string());
            break;
        }
    }
    let victim = victim.expect("rank 1 reports its pid");
    let killed = Command::new("kill").args(["-9", &victim]).status().expect("kill runs");
    assert!(killed.success());
    let (status, elapsed) = wait(child);
    assert!(!status.success(), "the job reports the failure");
    println!("the job ended {elapsed:?} after rank 1 was killed, with {status}");
}
