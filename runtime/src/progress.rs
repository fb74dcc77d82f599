//! What `fit` shows while it trains: a progress bar on a terminal, one line per epoch
//! otherwise, or nothing.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::history::EpochLog;

/// How much `fit` prints.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Verbosity {
    /// Nothing.
    Quiet,
    /// One line per epoch.
    Epochs,
    /// A progress bar per epoch (batch, running loss and accuracy, time left) that leaves the
    /// epoch's line behind; one line per epoch when standard output is not a terminal.
    #[default]
    Bar,
    /// As `Bar`, and after each epoch line the per-layer gradient norms and activation
    /// statistics (computed only at this verbosity).
    Diagnostics,
}

/// The display of one `fit`.
pub(crate) struct Progress {
    verbosity: Verbosity,
    epochs: usize,
    bar: Option<ProgressBar>,
}

impl Progress {
    pub(crate) fn new(verbosity: Verbosity, epochs: usize) -> Self {
        // A bar only where someone watches it: not into a file or a pipe.
        let verbosity = match verbosity {
            Verbosity::Bar if !std::io::stdout().is_terminal() => Verbosity::Epochs,
            v => v,
        };
        Progress { verbosity, epochs, bar: None }
    }

    /// An epoch of `batches` steps begins.
    pub(crate) fn start_epoch(&mut self, epoch: usize, batches: usize) {
        if !matches!(self.verbosity, Verbosity::Bar | Verbosity::Diagnostics) || !std::io::stdout().is_terminal() {
            return;
        }
        let bar = ProgressBar::with_draw_target(Some(batches as u64), ProgressDrawTarget::stdout());
        let style = ProgressStyle::with_template("epoch {prefix} [{bar:30}] {pos}/{len} {msg} ETA {eta}")
            .expect("the template is valid")
            .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(format!("{epoch:>width$}/{}", self.epochs, width = digits(self.epochs)));
        self.bar = Some(bar);
    }

    /// A step ended; the running figures of the epoch so far.
    pub(crate) fn step(&mut self, loss: f64, accuracy: Option<f64>) {
        if let Some(bar) = &self.bar {
            let accuracy = accuracy.map(|a| format!(" acc {:.2}%", 100.0 * a)).unwrap_or_default();
            bar.set_message(format!("loss {loss:.4}{accuracy}"));
            bar.inc(1);
        }
    }

    /// The epoch ended: replaces the bar with the epoch's line.
    pub(crate) fn end_epoch(&mut self, log: &EpochLog) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        if self.verbosity == Verbosity::Quiet {
            return;
        }
        println!("{}", epoch_line(log, self.epochs));
        if self.verbosity == Verbosity::Diagnostics && !log.grad_norms.is_empty() {
            let norms: Vec<String> = log.grad_norms.iter().map(|(layer, n)| format!("{layer} {n:.3e}")).collect();
            println!("    gradient norms: {}", norms.join("  "));
        }
        if self.verbosity == Verbosity::Diagnostics {
            for stats in &log.activations {
                println!("    {stats}");
            }
        }
    }

    /// A message between epochs (early stopping, a restored best epoch).
    pub(crate) fn note(&self, message: &str) {
        if self.verbosity != Verbosity::Quiet {
            println!("{message}");
        }
    }
}

fn digits(n: usize) -> usize {
    n.max(1).to_string().len()
}

/// `epoch  3/30  loss 0.2345  acc 93.12%  val_loss 0.2567  val_acc 92.50%  lr 0.1  0.21 s`.
pub(crate) fn epoch_line(log: &EpochLog, epochs: usize) -> String {
    let mut line = format!("epoch {:>width$}/{epochs}  loss {:.4}", log.epoch, log.loss, width = digits(epochs));
    if let Some(a) = log.accuracy {
        line.push_str(&format!("  acc {:.2}%", 100.0 * a));
    }
    if let Some(v) = log.val_loss {
        line.push_str(&format!("  val_loss {v:.4}"));
    }
    if let Some(a) = log.val_accuracy {
        line.push_str(&format!("  val_acc {:.2}%", 100.0 * a));
    }
    line.push_str(&format!("  lr {}  {:.2} s", format_rate(log.lr), log.seconds));
    line
}

/// A learning rate with no more digits than it needs (`0.1`, `0.00316`).
fn format_rate(lr: f64) -> String {
    let text = format!("{lr:.2e}");
    let short: f64 = text.parse().unwrap_or(lr);
    format!("{short}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_epoch_line_shows_what_is_known() {
        let log = EpochLog {
            epoch: 3,
            loss: 0.23456,
            accuracy: Some(0.93121),
            val_loss: None,
            val_accuracy: None,
            lr: 0.0031622776,
            seconds: 0.214,
            steps: 45,
            grad_norms: vec![],
            activations: vec![],
        };
        assert_eq!(epoch_line(&log, 30), "epoch  3/30  loss 0.2346  acc 93.12%  lr 0.00316  0.21 s");
    }
}
