//! What `fit` records: one row per epoch, written as CSV for plotting elsewhere.

use std::path::Path;

use crate::{Error, Result};

/// One epoch of `fit`.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochLog {
    /// Counted from 1.
    pub epoch: usize,
    /// The mean training loss of the epoch's steps (training mode, penalties included).
    pub loss: f64,
    /// The fraction of training examples the steps classified correctly, before each step's
    /// update (training mode, as Keras reports it), for classifiers.
    pub accuracy: Option<f64>,
    /// The validation loss in evaluation mode, if there is validation data.
    pub val_loss: Option<f64>,
    /// The validation accuracy in evaluation mode, for classifiers with validation data.
    pub val_accuracy: Option<f64>,
    /// The learning rate the epoch trained with.
    pub lr: f64,
    /// Wall time of the epoch, validation included.
    pub seconds: f64,
    /// Steps taken (batches trained on).
    pub steps: usize,
    /// Per layer with gradients, in layer order: the mean over the epoch's steps of the L2
    /// norm of all the layer's parameter gradients.
    pub grad_norms: Vec<(String, f64)>,
    /// With [`crate::Verbosity::Diagnostics`]: each layer's activation statistics at the end
    /// of the epoch, on the first (up to) [`crate::DIAGNOSTIC_ROWS`] training examples in
    /// training mode ([`crate::Mode::Training`]); empty otherwise (and in a history read from
    /// CSV).
    pub activations: Vec<crate::ActivationStats>,
}

/// Every epoch of a `fit`, and how it ended.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// The epochs trained, in order.
    pub epochs: Vec<EpochLog>,
    /// The epoch at which early stopping (or a callback) ended training, if one did.
    pub stopped_at: Option<usize>,
    /// The epoch with the best monitored value, when early stopping or keep-best ran.
    pub best_epoch: Option<usize>,
    /// Whether the parameters were restored to those of `best_epoch` at the end.
    pub restored_best: bool,
}

impl History {
    /// The last epoch's record.
    pub fn last(&self) -> Option<&EpochLog> {
        self.epochs.last()
    }

    /// The layers with gradient norms, in order.
    pub fn layers(&self) -> Vec<&str> {
        self.epochs.first().map(|e| e.grad_norms.iter().map(|(l, _)| l.as_str()).collect()).unwrap_or_default()
    }

    /// The history as CSV: a header, then one row per epoch; absent values are empty cells.
    /// Columns: `epoch, loss, accuracy, val_loss, val_accuracy, lr, seconds, steps`, then
    /// `grad_norm.<layer>` for each layer.
    pub fn to_csv(&self) -> String {
        let mut out = String::from("epoch,loss,accuracy,val_loss,val_accuracy,lr,seconds,steps");
        for layer in self.layers() {
            out.push_str(&format!(",grad_norm.{layer}"));
        }
        out.push('\n');
        let cell = |v: Option<f64>| v.map(|v| format!("{v}")).unwrap_or_default();
        for e in &self.epochs {
            out.push_str(&format!(
                "{},{},{},{},{},{},{},{}",
                e.epoch,
                e.loss,
                cell(e.accuracy),
                cell(e.val_loss),
                cell(e.val_accuracy),
                e.lr,
                e.seconds,
                e.steps
            ));
            for (_, norm) in &e.grad_norms {
                out.push_str(&format!(",{norm}"));
            }
            out.push('\n');
        }
        out
    }

    /// Writes [`History::to_csv`] to `path` (atomically).
    pub fn write_csv(&self, path: impl AsRef<Path>) -> Result<()> {
        crate::atomic::write(path.as_ref(), self.to_csv().as_bytes())
    }

    /// Reads a history written by [`History::write_csv`] (the outcome fields stay empty).
    pub fn read_csv(text: &str) -> Result<History> {
        let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
        let header = reader.headers().map_err(|e| Error::Data(format!("history: {e}")))?.clone();
        let layers: Vec<String> =
            header.iter().skip(8).map(|h| h.strip_prefix("grad_norm.").unwrap_or(h).to_string()).collect();
        let mut epochs = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|e| Error::Data(format!("history: {e}")))?;
            let number = |i: usize| -> Result<Option<f64>> {
                match record.get(i).unwrap_or("") {
                    "" => Ok(None),
                    s => s.parse().map(Some).map_err(|_| Error::Data(format!("history: `{s}` is not a number"))),
                }
            };
            let required = |i: usize| number(i)?.ok_or_else(|| Error::Data("history: a required cell is empty".into()));
            epochs.push(EpochLog {
                epoch: required(0)? as usize,
                loss: required(1)?,
                accuracy: number(2)?,
                val_loss: number(3)?,
                val_accuracy: number(4)?,
                lr: required(5)?,
                seconds: required(6)?,
                steps: required(7)? as usize,
                grad_norms: layers
                    .iter()
                    .enumerate()
                    .map(|(i, l)| Ok((l.clone(), required(8 + i)?)))
                    .collect::<Result<_>>()?,
                activations: Vec::new(),
            });
        }
        Ok(History { epochs, ..History::default() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn epoch(n: usize, val: Option<f64>) -> EpochLog {
        EpochLog {
            epoch: n,
            loss: 1.0 / n as f64,
            accuracy: Some(0.5),
            val_loss: val,
            val_accuracy: None,
            lr: 0.1,
            seconds: 0.25,
            steps: 7,
            grad_norms: vec![("fc1".into(), 0.125), ("out".into(), 2.5)],
            activations: Vec::new(),
        }
    }

    #[test]
    fn csv_round_trips_with_empty_cells_for_missing_values() {
        let h = History { epochs: vec![epoch(1, Some(0.75)), epoch(2, None)], ..History::default() };
        let text = h.to_csv();
        assert_eq!(
            text.lines().next().unwrap(),
            "epoch,loss,accuracy,val_loss,val_accuracy,lr,seconds,steps,grad_norm.fc1,grad_norm.out"
        );
        assert_eq!(text.lines().nth(2).unwrap(), "2,0.5,0.5,,,0.1,0.25,7,0.125,2.5");
        assert_eq!(History::read_csv(&text).unwrap(), h);
    }
}
