// User code that calls the network's API: with a mistake in the declaration, only that
// mistake is reported (the stub carries the API's signatures).
use gradc::{FitOptions, Model, network};

network! {
    pub struct Net {
        input: [4],
        fc1: dens(3),
        loss: mse,
        optimizer: sgd(lr = 0.1),
        dtype: f64,
    }
}

fn main() -> gradc::Result<()> {
    let mut net = Net::new(1);
    let x = gradc::ndarray::Array2::<f64>::zeros((2, 4));
    let y = gradc::ndarray::Array2::<f64>::zeros((2, 3));
    net.train_step(x.view(), &y)?;
    let data = gradc::data::Dataset::regression(x.clone(), y)?;
    let history = net.fit(&data, &FitOptions::new().quiet())?;
    println!("{} {} {}", history.epochs.len(), net.summary(), Net::IR);
    let _ = net.forward(x.view())?;
    let _ = <Net as Model>::info();
    Ok(())
}
