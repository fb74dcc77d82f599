//! What every example does first: answer `--help` with the documentation at the top of its
//! file, and end quietly when the reader of its output goes away (`| head`), as command-line
//! tools do, instead of panicking on the broken pipe.

/// `source` is the example's own file (`include_str!`); its leading `//!` lines are the help.
pub fn start(source: &str) {
    if std::env::args().skip(1).any(|a| a == "--help" || a == "-h") {
        let help: Vec<&str> = source
            .lines()
            .map_while(|line| line.strip_prefix("//!"))
            .map(|line| line.strip_prefix(' ').unwrap_or(line))
            .filter(|line| !line.starts_with("```"))
            .collect();
        println!("{}", help.join("\n").trim());
        std::process::exit(0);
    }
    // Rust ignores SIGPIPE, so a write to a closed pipe fails and `println!` panics; the
    // default action ends the process silently, which is what a pipeline expects.
    #[cfg(unix)]
    // SAFETY: called at the start of `main`, before any other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
