//! Charts of a training run, written as SVG: learning curves, and per-layer gradient norms
//! (the vanishing-gradient diagnostic).

use std::path::Path;

use plotters::prelude::*;

use crate::{Error, History, Result};

const WIDTH: u32 = 960;
const HEIGHT: u32 = 400;
/// Distinct colours for up to eight series, then repeating.
const COLORS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

fn plot_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Data(format!("plot {}: {e}", path.display()))
}

/// One curve: a name and its points.
type Series = (String, Vec<(f64, f64)>);

/// A line chart of `series` in `area`, the y axis logarithmic if `log_y`.
fn line_chart(
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    log_y: bool,
) -> std::result::Result<(), Box<dyn std::error::Error>> {
    let points = series.iter().flat_map(|(_, p)| p.iter()).filter(|(_, y)| y.is_finite() && (!log_y || *y > 0.0));
    let (mut x_max, mut y_min, mut y_max) = (1.0f64, f64::INFINITY, f64::NEG_INFINITY);
    for &(x, y) in points {
        x_max = x_max.max(x);
        y_min = y_min.min(y);
        y_max = y_max.max(y);
    }
    if !y_min.is_finite() {
        (y_min, y_max) = (if log_y { 1e-3 } else { 0.0 }, 1.0);
    }
    let mut builder = ChartBuilder::on(area);
    builder.caption(title, ("sans-serif", 18)).margin(12).x_label_area_size(36).y_label_area_size(80);
    if log_y {
        let (low, high) = (y_min / 2.0, y_max * 2.0);
        let mut chart = builder.build_cartesian_2d(0.0..x_max, (low..high).log_scale())?;
        chart
            .configure_mesh()
            .x_desc(x_label)
            .y_desc(y_label)
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_label_formatter(&|y| format!("{y:.0e}"))
            .draw()?;
        for (i, (name, points)) in series.iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            let points = points.iter().copied().filter(|(_, y)| *y > 0.0 && y.is_finite());
            chart
                .draw_series(LineSeries::new(points, color.stroke_width(2)))?
                .label(name.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
        }
        chart.configure_series_labels().border_style(BLACK).background_style(WHITE.mix(0.8)).draw()?;
    } else {
        let pad = ((y_max - y_min) * 0.05).max(1e-9);
        let mut chart = builder.build_cartesian_2d(0.0..x_max, (y_min - pad)..(y_max + pad))?;
        chart
            .configure_mesh()
            .x_desc(x_label)
            .y_desc(y_label)
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_label_formatter(&|y| format!("{y:.2}"))
            .draw()?;
        for (i, (name, points)) in series.iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            chart
                .draw_series(LineSeries::new(points.iter().copied(), color.stroke_width(2)))?
                .label(name.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
        }
        chart.configure_series_labels().border_style(BLACK).background_style(WHITE.mix(0.8)).draw()?;
    }
    Ok(())
}

/// Loss (training and validation) and, for classifiers, accuracy against the epoch, side by
/// side, as an SVG file.
pub fn learning_curves(history: &History, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    let epoch = |f: fn(&crate::EpochLog) -> Option<f64>| -> Vec<(f64, f64)> {
        history.epochs.iter().filter_map(|e| f(e).map(|v| (e.epoch as f64, v))).collect()
    };
    let named = |pairs: Vec<(&str, Vec<(f64, f64)>)>| -> Vec<Series> {
        pairs.into_iter().filter(|(_, p)| !p.is_empty()).map(|(n, p)| (n.to_string(), p)).collect()
    };
    let loss = named(vec![("training", epoch(|e| Some(e.loss))), ("validation", epoch(|e| e.val_loss))]);
    let accuracy = named(vec![
        ("training", epoch(|e| e.accuracy.map(|a| 100.0 * a))),
        ("validation", epoch(|e| e.val_accuracy.map(|a| 100.0 * a))),
    ]);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| plot_error(path, e))?;
        let panels: Vec<_> = if accuracy.is_empty() { vec![root.clone()] } else { root.split_evenly((1, 2)) };
        line_chart(&panels[0], "loss", "epoch", "loss", &loss, false).map_err(|e| plot_error(path, e))?;
        if !accuracy.is_empty() {
            line_chart(&panels[1], "accuracy", "epoch", "%", &accuracy, false).map_err(|e| plot_error(path, e))?;
        }
        root.present().map_err(|e| plot_error(path, e))?;
    }
    crate::atomic::write(path, svg.as_bytes())
}

/// Each layer's gradient norm (log scale) against its depth, one line per run: the mean over
/// the steps of `epoch` (counted from 1) of each run's history. Vanishing gradients show as
/// lines falling towards the input.
pub fn gradient_norms(runs: &[(&str, &History)], epoch: usize, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    let mut series = Vec::new();
    for (name, history) in runs {
        let Some(log) = history.epochs.iter().find(|e| e.epoch == epoch) else {
            return Err(Error::Data(format!("plot {}: run `{name}` has no epoch {epoch}", path.display())));
        };
        let points = log.grad_norms.iter().enumerate().map(|(i, (_, n))| ((i + 1) as f64, *n)).collect();
        series.push((name.to_string(), points));
    }
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| plot_error(path, e))?;
        let title = format!("gradient norm per layer (epoch {epoch})");
        line_chart(&root, &title, "layer (input → output)", "gradient L2 norm", &series, true)
            .map_err(|e| plot_error(path, e))?;
        root.present().map_err(|e| plot_error(path, e))?;
    }
    crate::atomic::write(path, svg.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EpochLog;

    fn history(scale: f64) -> History {
        let epochs = (1..=4)
            .map(|epoch| EpochLog {
                epoch,
                loss: 1.0 / epoch as f64,
                accuracy: Some(0.5 + 0.1 * epoch as f64),
                val_loss: Some(1.2 / epoch as f64),
                val_accuracy: Some(0.45 + 0.1 * epoch as f64),
                lr: 0.1,
                seconds: 0.1,
                steps: 3,
                grad_norms: (0..5).map(|l| (format!("fc{l}"), scale * 10f64.powi(l))).collect(),
                activations: vec![],
            })
            .collect();
        History { epochs, ..History::default() }
    }

    #[test]
    fn charts_are_written_with_their_series() {
        let dir = std::env::temp_dir().join(format!("gradc-plot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        learning_curves(&history(1.0), dir.join("curves.svg")).unwrap();
        let svg = std::fs::read_to_string(dir.join("curves.svg")).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("validation") && svg.contains("accuracy"));
        assert!(svg.matches("<polyline").count() >= 4, "two lines per panel");
        let (a, b) = (history(1.0), history(1e-3));
        gradient_norms(&[("relu", &a), ("sigmoid", &b)], 1, dir.join("norms.svg")).unwrap();
        let svg = std::fs::read_to_string(dir.join("norms.svg")).unwrap();
        assert!(svg.contains("sigmoid") && svg.contains("gradient norm"));
        assert!(gradient_norms(&[("relu", &a)], 9, dir.join("none.svg")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
