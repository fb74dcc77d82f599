//! `fit`, `evaluate` and `predict`: checked against the hand-written loop, the compiled
//! training loss, and values computed here from the gradients.

use gradc::data::{self, Dataset, SeedableRng};
use gradc::ndarray::Array2;
use gradc::{Control, EarlyStopping, EpochLog, FitOptions, Model, Monitor, network};

network! {
    /// Digits with both penalties, no dropout or batch norm: training and evaluation modes agree.
    struct Plain {
        input: [64],
        fc1: dense(32), act1: tanh,
        out: dense(10),
        loss: softmax_cross_entropy, optimizer: momentum(lr = 0.05, beta = 0.9),
        regularize: l1_l2(1e-4, 1e-3),
        dtype: f64,
    }
}

network! {
    /// Multi-output logistic regression with an L2 penalty.
    struct Logistic {
        input: [4],
        hidden: dense(6), act: relu,
        out: dense(3),
        loss: binary_cross_entropy, optimizer: sgd(lr = 0.1),
        regularize: l2(1e-2),
        dtype: f64,
    }
}

network! {
    /// Regression.
    struct Regressor {
        input: [4],
        hidden: dense(6), act: elu,
        out: dense(2),
        loss: mse, optimizer: adam(lr = 0.01),
        dtype: f64,
    }
}

network! {
    /// Batch norm and dropout: the training graph differs from evaluation.
    struct Normed {
        input: [64],
        fc1: dense(32), bn1: batch_norm, act1: relu, drop1: dropout(0.2),
        out: dense(10),
        loss: softmax_cross_entropy, optimizer: sgd(lr = 0.1),
    }
}

fn digits64() -> Dataset<f64> {
    data::digits().unwrap()
}

/// Four features and targets that depend on them, deterministic.
fn values(rows: usize, outputs: usize, probabilities: bool) -> Dataset<f64> {
    let x = Array2::from_shape_fn((rows, 4), |(r, c)| ((r * 7 + c * 13) % 17) as f64 / 17.0 - 0.5);
    let y = Array2::from_shape_fn((rows, outputs), |(r, o)| {
        let s = x[[r, o % 4]] - 0.5 * x[[r, (o + 1) % 4]];
        if probabilities { 1.0 / (1.0 + (-4.0 * s).exp()) } else { s }
    });
    Dataset::regression(x, y).unwrap()
}

fn relative(a: f64, b: f64) -> f64 {
    (a - b).abs() / a.abs().max(b.abs()).max(1e-300)
}

#[test]
fn evaluation_loss_is_the_training_loss_with_penalties_for_every_loss() {
    let digits = digits64().select(&(0..200).collect::<Vec<_>>());
    let mut plain = Plain::new(3);
    let evaluated = plain.evaluate(&digits).unwrap();
    let trained = plain.loss_and_grads(digits.features.view(), &digits.labels).unwrap().loss;
    assert!(relative(evaluated.loss, trained) < 1e-12, "{} vs {trained}", evaluated.loss);
    assert_eq!(evaluated.examples, 200);

    let d = values(50, 3, true);
    let mut logistic = Logistic::new(4);
    let evaluated = logistic.evaluate(&d).unwrap();
    let trained = logistic.loss_and_grads(d.features.view(), d.targets()).unwrap().loss;
    assert!(relative(evaluated.loss, trained) < 1e-12, "{} vs {trained}", evaluated.loss);

    let d = values(50, 2, false);
    let mut regressor = Regressor::new(5);
    let evaluated = regressor.evaluate(&d).unwrap();
    let trained = regressor.loss_and_grads(d.features.view(), d.targets()).unwrap().loss;
    assert!(relative(evaluated.loss, trained) < 1e-12, "{} vs {trained}", evaluated.loss);
    assert_eq!(evaluated.accuracy, None);
    assert!(evaluated.confusion.is_none());
}

#[test]
fn evaluation_accuracy_and_confusion_agree_with_forward() {
    let digits = digits64();
    let net = Plain::new(1);
    let e = net.evaluate(&digits).unwrap();
    let scores = net.forward(digits.features.view()).unwrap();
    let accuracy = data::accuracy(scores.view(), &digits.labels);
    assert_eq!(e.accuracy, Some(accuracy));
    let confusion = e.confusion.unwrap();
    let diagonal: usize = (0..10).map(|c| confusion.count(c, c)).sum();
    let total: usize = (0..10).flat_map(|t| (0..10).map(move |p| (t, p))).map(|(t, p)| confusion.count(t, p)).sum();
    assert_eq!(total, digits.len());
    assert_eq!(diagonal as f64 / total as f64, accuracy);
}

#[test]
fn predictions_are_probabilities_of_the_forward_outputs() {
    let digits = digits64();
    let net = Plain::new(2);
    let p = net.predict(digits.features.view()).unwrap();
    let outputs = net.forward(digits.features.view()).unwrap();
    assert_eq!(p.classes, data::argmax_rows(outputs.view()));
    for (probabilities, z) in p.probabilities.rows().into_iter().zip(outputs.rows()) {
        assert!((probabilities.sum() - 1.0).abs() < 1e-12);
        // Softmax: the ratio of two probabilities is e^(z_i − z_j).
        assert!(relative(probabilities[1] / probabilities[0], (z[1] - z[0]).exp()) < 1e-12);
    }
    let d = values(5, 3, true);
    let logistic = Logistic::new(1);
    let p = logistic.predict(d.features.view()).unwrap();
    let z = logistic.forward(d.features.view()).unwrap();
    for (p, z) in p.probabilities.iter().zip(z.iter()) {
        assert!(relative(*p, 1.0 / (1.0 + (-z).exp())) < 1e-15);
    }
}

#[test]
fn the_training_output_is_the_batch_forward_before_the_update() {
    let digits = digits64().select(&(0..64).collect::<Vec<_>>());
    let mut net = Plain::new(7);
    assert!(net.training_output().is_none());
    let before = net.forward(digits.features.view()).unwrap();
    net.train_step(digits.features.view(), &digits.labels).unwrap();
    let seen = net.training_output().unwrap();
    assert_eq!(seen.len(), before.len());
    for (a, b) in seen.iter().zip(before.iter()) {
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }
}

#[test]
fn fit_trains_exactly_as_the_hand_written_loop() {
    let digits = digits64().select(&(0..300).collect::<Vec<_>>());
    let mut by_fit = Plain::new(11);
    let options = FitOptions::new().epochs(3).batch_size(32).seed(5).quiet();
    let history = by_fit.fit(&digits, &options).unwrap();

    let mut by_hand = Plain::new(11);
    let mut rng = data::Rng::seed_from_u64(5);
    let mut losses = Vec::new();
    for _ in 0..3 {
        let (mut total, mut seen) = (0.0, 0);
        for batch in digits.shuffled_batches(32, &mut rng) {
            let stats = by_hand.train_step(batch.features.view(), &batch.labels).unwrap();
            total += stats.loss * stats.batch as f64;
            seen += stats.batch;
        }
        losses.push(total / seen as f64);
    }
    for name in by_fit.param_names() {
        assert_eq!(by_fit.param(name).unwrap(), by_hand.param(name).unwrap(), "{name}");
    }
    let recorded: Vec<f64> = history.epochs.iter().map(|e| e.loss).collect();
    assert_eq!(recorded, losses);
    assert!(history.epochs.iter().all(|e| e.steps == 10 && e.accuracy.is_some() && e.val_loss.is_none()));
}

#[test]
fn gradient_norms_are_those_of_the_step() {
    // One step per epoch: the recorded norm is that step's norm, computed here from `grad`.
    let digits = digits64().select(&(0..40).collect::<Vec<_>>());
    let mut net = Plain::new(2);
    let history = net.fit(&digits, &FitOptions::new().epochs(1).batch_size(40).quiet()).unwrap();
    let norms = &history.epochs[0].grad_norms;
    let direct: Vec<(String, f64)> = net.layer_gradient_norms().into_iter().map(|(l, n)| (l.to_string(), n)).collect();
    assert_eq!(&direct, norms);
    let layers: Vec<&str> = norms.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(layers, ["fc1", "out"]);
    for (layer, norm) in norms {
        let squares: f64 = ["weight", "bias"]
            .iter()
            .map(|p| net.grad(&format!("{layer}.{p}")).unwrap().iter().map(|g| g * g).sum::<f64>())
            .sum();
        assert!(relative(*norm, squares.sqrt()) < 1e-12, "{layer}: {norm} vs {}", squares.sqrt());
    }
}

#[test]
fn early_stopping_stops_after_patience_and_restores_the_best_epoch() {
    let digits = digits64();
    let train = digits.select(&(0..400).collect::<Vec<_>>());
    // Validation labels shifted by one: the better the network learns, the worse it does here,
    // so the best validation loss is at epoch 1.
    let mut shifted = digits.select(&(400..600).collect::<Vec<_>>());
    shifted.labels.iter_mut().for_each(|l| *l = (*l + 1) % 10);
    let dir = std::env::temp_dir().join(format!("gradc-fit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let best_path = dir.join("best.ckpt");
    let options = FitOptions::new()
        .epochs(50)
        .batch_size(20)
        .validation_data(&shifted)
        .early_stopping(EarlyStopping::new(Monitor::ValLoss).patience(3))
        .keep_best(&best_path)
        .quiet();
    let mut net = Plain::new(4);
    let history = net.fit(&train, &options).unwrap();
    let val: Vec<f64> = history.epochs.iter().map(|e| e.val_loss.unwrap()).collect();
    let best = (0..val.len()).min_by(|&a, &b| val[a].total_cmp(&val[b])).unwrap() + 1;
    assert_eq!(history.best_epoch, Some(best));
    assert_eq!(history.stopped_at, Some(best + 3), "{val:?}");
    assert_eq!(history.epochs.len(), best + 3);
    assert!(history.restored_best);
    // The restored parameters give the best epoch's validation loss again, as does the
    // checkpoint written at that epoch.
    assert_eq!(net.evaluate(&shifted).unwrap().loss, val[best - 1]);
    let mut reloaded = Plain::new(99);
    reloaded.load_checkpoint(&best_path).unwrap();
    assert_eq!(reloaded.evaluate(&shifted).unwrap().loss, val[best - 1]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_callback_can_stop_training_and_sees_every_epoch() {
    let digits = digits64().select(&(0..100).collect::<Vec<_>>());
    let mut seen = Vec::new();
    let mut stop_at_three = |_: &mut Plain, log: &EpochLog| {
        seen.push(log.epoch);
        if log.epoch == 3 { Control::Stop } else { Control::Continue }
    };
    let mut net = Plain::new(1);
    let history = net.fit_with(&digits, &FitOptions::new().epochs(10).quiet(), &mut [&mut stop_at_three]).unwrap();
    assert_eq!(seen, [1, 2, 3]);
    assert_eq!(history.stopped_at, Some(3));
    assert_eq!(history.epochs.len(), 3);
}

#[test]
fn a_final_batch_too_small_for_batch_norm_is_skipped() {
    let digits: Dataset<f32> = data::digits().unwrap();
    let d = digits.select(&(0..33).collect::<Vec<_>>());
    let mut net = Normed::new(1);
    let history = net.fit(&d, &FitOptions::new().epochs(2).batch_size(32).quiet()).unwrap();
    assert!(history.epochs.iter().all(|e| e.steps == 1));
    let history = net.fit(&d, &FitOptions::new().epochs(1).batch_size(16).drop_last(true).quiet()).unwrap();
    assert_eq!(history.epochs[0].steps, 2);
}

#[test]
fn a_validation_split_holds_out_a_stratified_share() {
    let digits = digits64().select(&(0..500).collect::<Vec<_>>());
    let mut net = Plain::new(1);
    let history = net.fit(&digits, &FitOptions::new().epochs(1).batch_size(50).validation_split(0.2).quiet()).unwrap();
    // 400 training examples in batches of 50.
    assert_eq!(history.epochs[0].steps, 8);
    assert!(history.epochs[0].val_accuracy.is_some());
}

#[test]
fn a_schedule_sets_each_epochs_rate() {
    let digits = digits64().select(&(0..64).collect::<Vec<_>>());
    let schedule = gradc::schedule::Schedule::StepDecay { base: 0.08, gamma: 0.5, every: 2 };
    let mut net = Plain::new(1);
    let history = net.fit(&digits, &FitOptions::new().epochs(5).schedule(schedule).quiet()).unwrap();
    let rates: Vec<f64> = history.epochs.iter().map(|e| e.lr).collect();
    assert_eq!(rates, [0.08, 0.08, 0.04, 0.04, 0.02]);
}

#[test]
fn bad_options_and_data_are_errors_that_change_nothing() {
    let digits = digits64().select(&(0..64).collect::<Vec<_>>());
    let mut net = Plain::new(1);
    let before = net.clone();
    let same = |a: &Plain, b: &Plain| a.param_names().iter().all(|n| a.param(n).unwrap() == b.param(n).unwrap());

    let e = net.fit(&digits, &FitOptions::new().batch_size(0).quiet()).unwrap_err();
    assert!(e.to_string().contains("batch size"), "{e}");
    let e =
        net.fit(&digits, &FitOptions::new().early_stopping(EarlyStopping::new(Monitor::ValLoss)).quiet()).unwrap_err();
    assert!(e.to_string().contains("no validation data"), "{e}");
    let e = net.fit(&digits, &FitOptions::new().validation_split(1.5).quiet()).unwrap_err();
    assert!(e.to_string().contains("validation split"), "{e}");
    let mut bad = digits.clone();
    bad.labels[63] = 10;
    let e = net.fit(&bad, &FitOptions::new().quiet()).unwrap_err();
    assert!(e.to_string().contains("example 63"), "{e}");
    let regression = values(10, 2, false);
    let e = net.evaluate(&regression).unwrap_err();
    assert!(e.to_string().contains("input has 4 features"), "{e}");
    let schedule = gradc::schedule::Schedule::Exponential { base: 0.1, gamma: 1e300 };
    let e = net.fit(&digits, &FitOptions::new().epochs(3).schedule(schedule).quiet()).unwrap_err();
    assert!(e.to_string().contains("scheduled learning rate"), "{e}");
    assert!(same(&net, &before));
    assert_eq!(net.lr(), before.lr());
}

#[test]
fn history_csv_has_a_row_per_epoch() {
    let digits = digits64().select(&(0..64).collect::<Vec<_>>());
    let mut net = Plain::new(1);
    let history = net.fit(&digits, &FitOptions::new().epochs(4).quiet()).unwrap();
    let path = std::env::temp_dir().join(format!("gradc-history-{}.csv", std::process::id()));
    history.write_csv(&path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(text.lines().count(), 5);
    assert!(
        text.starts_with("epoch,loss,accuracy,val_loss,val_accuracy,lr,seconds,steps,grad_norm.fc1,grad_norm.out\n")
    );
    let read = gradc::History::read_csv(&text).unwrap();
    assert_eq!(
        read.epochs.iter().map(|e| e.loss).collect::<Vec<_>>(),
        history.epochs.iter().map(|e| e.loss).collect::<Vec<_>>()
    );
}
