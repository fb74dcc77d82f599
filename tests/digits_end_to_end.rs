//! End to end: the main example's network (batch norm, dropout, L2) trains on the embedded digits and reaches the
//! accuracy the README states.

use gradc::data;
use gradc::network;
use rand::SeedableRng;

network! {
    struct DigitNet {
        input: [64],
        fc1: dense(128),
        bn1: batch_norm,
        act1: relu,
        drop1: dropout(0.2),
        fc2: dense(64),
        bn2: batch_norm,
        act2: relu,
        out: dense(10),
        loss: softmax_cross_entropy,
        optimizer: sgd(lr = 0.1),
        regularize: l2(1e-4),
    }
}

#[test]
fn digits_reach_95_percent_test_accuracy() {
    let digits = data::digits::<f32>().unwrap();
    let (train, test) = digits.stratified_split(0.2, 42);
    let mut net = DigitNet::new(42);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(42);
    let mut first_epoch_loss = None;
    let mut last_epoch_loss = 0.0;
    for _ in 0..30 {
        let (mut total, mut seen) = (0.0, 0);
        for batch in train.shuffled_batches(32, &mut rng) {
            let stats = net.train_step(batch.features.view(), &batch.labels).unwrap();
            total += stats.loss * stats.batch as f64;
            seen += stats.batch;
        }
        last_epoch_loss = total / seen as f64;
        first_epoch_loss.get_or_insert(last_epoch_loss);
    }
    let accuracy = data::accuracy(net.forward(test.features.view()).unwrap().view(), &test.labels);
    assert!(accuracy >= 0.95, "test accuracy {accuracy}");
    assert!(
        last_epoch_loss < 0.2 * first_epoch_loss.unwrap(),
        "loss did not fall: {first_epoch_loss:?} -> {last_epoch_loss}"
    );
}
