//! The user-facing items: the network struct, its tables (parameters, layers), the inherent
//! methods and the `Model` impl. Everything that is the same for every network lives in the
//! runtime's `Model` provided methods; this emits only what is specific to this network.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::kernel::{float, float_type, usize_lit};
use super::names::{ident, param_const, snake};
use crate::dsl::ParamInit;
use crate::dsl::ast::Network;
use crate::ir::{DType, ParamKind};

/// The runtime's `Init` value that starts a parameter.
fn init_tokens(init: ParamInit) -> TokenStream {
    let path = quote!(rt::Init);
    match init {
        ParamInit::Constant(v) => {
            let v = float(v, DType::F64);
            quote!(#path::Constant(#v))
        }
        ParamInit::Weight(spec) => {
            let variant = ident(spec.runtime_variant());
            match spec.constants().as_slice() {
                [] => quote!(#path::#variant),
                constants => {
                    let constants = constants.iter().map(|c| float(c.0, DType::F64));
                    quote!(#path::#variant(#(#constants),*))
                }
            }
        }
    }
}

/// The module name holding the generated internals of `net`.
pub fn module_name(net: &Network) -> proc_macro2::Ident {
    format_ident!("__gradc_{}", snake(&to_snake_case(&net.name.to_string())))
}

fn to_snake_case(camel: &str) -> String {
    let mut out = String::new();
    for (i, c) in camel.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.extend(c.to_lowercase());
    }
    out
}

/// The tables (parameter specs, layers, network info) inside the internals module.
pub fn tables(net: &Network) -> TokenStream {
    let decls = net.params();
    let count = decls.len();
    let consts = decls.iter().enumerate().map(|(i, p)| {
        let c = param_const(&p.name);
        let i = usize_lit(i);
        let doc = format!(" Index of `{}` in the parameter table.", p.name);
        quote!(#[doc = #doc] pub const #c: usize = #i;)
    });
    let specs = decls.iter().map(|p| {
        let shape = p.shape.iter().map(|&d| usize_lit(d));
        let (name, layer, init, differentiable) = (&p.name, &p.layer, init_tokens(p.init), p.differentiable());
        let kind = match p.kind {
            ParamKind::Learnable => quote!(Learnable),
            ParamKind::Buffer => quote!(Buffer),
            ParamKind::Counter => quote!(Counter),
        };
        let lr_scale = float(p.lr_scale, DType::F64);
        quote!(rt::ParamSpec { name: #name, layer: #layer, shape: &[#(#shape),*], init: #init, differentiable: #differentiable, kind: rt::ParamKind::#kind, lr_scale: #lr_scale })
    });

    let (count, layer_count) = (usize_lit(count), usize_lit(net.layers.len()));
    let layers = net.layers.iter().map(|l| {
        let shape = l.output_shape.iter().map(|&d| usize_lit(d));
        let (name, kind, description, frozen) = (&l.name, l.kind.name(), l.kind.describe(), l.frozen);
        quote!(rt::LayerInfo {
            name: #name,
            kind: #kind,
            description: #description,
            output_shape: &[#(#shape),*],
            frozen: #frozen,
        })
    });
    let loss = ident(net.loss.0.runtime_kind());
    let name = net.name.to_string();
    let input_width = usize_lit(net.input_width());
    let input_shape = net.input_shape.iter().map(|&d| usize_lit(d));
    let output_width = usize_lit(net.output_width());
    let optimizer = net.optimizer.describe();
    let min_train_batch = usize_lit(if net.needs_two_examples() { 2 } else { 1 });
    let penalties = crate::lower::penalties(net).into_iter().map(|(i, l1, l2)| {
        let param = format!("{}.weight", net.layers[i].name);
        let (l1, l2) = (float(l1, DType::F64), float(l2, DType::F64));
        quote!(rt::Penalty { param: #param, l1: #l1, l2: #l2 })
    });
    quote! {
        #(#consts)*

        /// Every parameter: weights-file name, layer, shape, initializer.
        pub static PARAMS: [rt::ParamSpec; #count] = [#(#specs),*];

        /// Every layer, as `summary()` shows it.
        pub static LAYERS: [rt::LayerInfo; #layer_count] = [#(#layers),*];

        /// What the runtime needs to know about the network.
        pub static INFO: rt::NetworkInfo = rt::NetworkInfo {
            name: #name,
            input_width: #input_width,
            input_shape: &[#(#input_shape),*],
            output_width: #output_width,
            min_train_batch: #min_train_batch,
            loss: rt::LossKind::#loss,
            optimizer: #optimizer,
            layers: &LAYERS,
            params: &PARAMS,
            penalties: &[#(#penalties),*],
        };
    }
}

/// The texts of the compiled graphs, as constants on the struct.
pub struct GraphTexts {
    /// The inference graph.
    pub ir: String,
    /// The training graph.
    pub train_ir: String,
    /// Graphviz of the training graph.
    pub dot: String,
}

/// The struct, its inherent methods and its `Model` impl.
pub fn api(net: &Network, texts: &GraphTexts, fine_tune: bool) -> TokenStream {
    let (name, vis, docs) = (&net.name, &net.vis, &net.docs);
    let module = module_name(net);
    let t = float_type(net.dtype);
    let rt = quote!(::gradc::__private);
    let lr = float(net.optimizer.lr, DType::F64);
    let (ir, train_ir, dot) = (&texts.ir, &texts.train_ir, &texts.dot);
    // The bodies of the methods that run a compiled training graph, on `graph` with `buffers`.
    let bodies = |graph: TokenStream, buffers: TokenStream| {
        [
            quote! {
                if self.#buffers.batch != batch {
                    self.#buffers.resize(batch);
                }
                #module::#graph::loss_and_grads(&self.params, &mut self.#buffers, x, labels, targets, &mut self.state.rng)
            },
            quote! {
                if self.#buffers.batch == 0 {
                    return ::core::option::Option::None;
                }
                #module::#graph::gradient(&self.#buffers, index)
            },
            quote! {
                if self.#buffers.batch == 0 {
                    return ::core::option::Option::None;
                }
                #module::#graph::prediction(&self.#buffers)
            },
            quote! {
                let result = #module::#graph::update(
                    &self.params, &self.optimizer, &mut self.staging, &self.#buffers, self.state.lr,
                );
                match result {
                    ::core::result::Result::Ok(()) => self.staging.commit(&mut self.params, &mut self.optimizer),
                    ::core::result::Result::Err(_) => self.staging.discard(),
                }
                result
            },
            quote! {
                if self.#buffers.batch == 0 {
                    return ::core::option::Option::None;
                }
                #module::#graph::gradient_mut(&mut self.#buffers, index)
            },
            quote!(#module::#graph::finish_gradients(&self.params, &mut self.#buffers)),
        ]
    };
    let [run, gradient, prediction, update, gradient_mut, finish] = bodies(quote!(train), quote!(train_buffers));
    let (graph_methods, fine_tune_fields, fine_tune_init) = if fine_tune {
        // Two compiled training graphs: `train`, and `fine_tune` while a batch norm is frozen
        // at run time. A step runs one; its gradients and update read the one that ran.
        let [tuned_run, tuned_gradient, tuned_prediction, tuned_update, tuned_gradient_mut, tuned_finish] =
            bodies(quote!(fine_tune), quote!(fine_tune_buffers));
        let methods = quote! {
            fn run_loss_and_grads(&mut self, batch: usize, x: &[#t], labels: &[usize], targets: &[#t]) -> f64 {
                self.fine_tuning = self.params.freezes_statistics();
                if self.fine_tuning { #tuned_run } else { #run }
            }

            fn workspace_bytes(&self) -> usize {
                self.train_buffers.bytes + self.fine_tune_buffers.bytes
            }

            fn gradient(&self, index: usize) -> ::core::option::Option<&[#t]> {
                if self.fine_tuning { #tuned_gradient } else { #gradient }
            }

            fn training_output(&self) -> ::core::option::Option<&[#t]> {
                if self.fine_tuning { #tuned_prediction } else { #prediction }
            }

            fn run_update(&mut self) -> ::core::result::Result<(), usize> {
                if self.fine_tuning { #tuned_update } else { #update }
            }

            fn gradient_mut(&mut self, index: usize) -> ::core::option::Option<&mut [#t]> {
                if self.fine_tuning { #tuned_gradient_mut } else { #gradient_mut }
            }

            fn run_finish_gradients(&mut self) {
                if self.fine_tuning { #tuned_finish } else { #finish }
            }
        };
        let fields = quote! {
            fine_tune_buffers: #module::fine_tune::TrainBuffers,
            /// Whether the last step ran the `fine_tune` graph.
            fine_tuning: bool,
        };
        (methods, fields, quote!(fine_tune_buffers: ::core::default::Default::default(), fine_tuning: false,))
    } else {
        let methods = quote! {
            fn run_loss_and_grads(&mut self, batch: usize, x: &[#t], labels: &[usize], targets: &[#t]) -> f64 {
                #run
            }

            fn workspace_bytes(&self) -> usize {
                self.train_buffers.bytes
            }

            fn gradient(&self, index: usize) -> ::core::option::Option<&[#t]> {
                #gradient
            }

            fn training_output(&self) -> ::core::option::Option<&[#t]> {
                #prediction
            }

            fn run_update(&mut self) -> ::core::result::Result<(), usize> {
                #update
            }

            fn gradient_mut(&mut self, index: usize) -> ::core::option::Option<&mut [#t]> {
                #gradient_mut
            }

            fn run_finish_gradients(&mut self) {
                #finish
            }
        };
        (methods, quote!(), quote!())
    };
    let state_names = net.optimizer.rule.state_names();
    let delegating = delegating_methods(&t);
    quote! {
        #(#docs)*
        #[derive(Clone)]
        #vis struct #name {
            params: #rt::ParamStore<#t>,
            optimizer: #rt::OptimizerState<#t>,
            state: #rt::TrainState,
            /// Where updates write until every one of them is known to be finite.
            staging: #rt::UpdateStaging<#t>,
            train_buffers: #module::train::TrainBuffers,
            #fine_tune_fields
        }

        #[allow(dead_code, reason = "every network gets the whole API; a program need not call all of it")]
        impl #name {
            /// The inference graph after all passes, as IR text.
            pub const IR: &'static str = #ir;
            /// The training graph (forward, gradients, updates) after all passes, as IR text.
            pub const TRAIN_IR: &'static str = #train_ir;
            /// The training graph in Graphviz `dot` syntax.
            pub const DOT: &'static str = #dot;

            /// A new network with every parameter initialized deterministically from `seed`.
            pub fn new(seed: u64) -> Self {
                let params = #rt::ParamStore::new(&#module::PARAMS, seed);
                let optimizer = #rt::OptimizerState::new(&#module::PARAMS, &[#(#state_names),*]);
                // Every buffer whose size does not depend on the batch is made now, so the
                // first step costs what any step costs.
                let staging = #rt::UpdateStaging::new(&params, &optimizer);
                let mut train_buffers = #module::train::TrainBuffers::default();
                train_buffers.resize(0);
                Self { params, optimizer, state: #rt::TrainState::new(#lr, seed), staging, train_buffers, #fine_tune_init }
            }

            #delegating
        }

        impl ::gradc::Model for #name {
            type Scalar = #t;

            fn info() -> &'static #rt::NetworkInfo {
                &#module::INFO
            }

            fn params(&self) -> &#rt::ParamStore<#t> {
                &self.params
            }

            fn params_mut(&mut self) -> &mut #rt::ParamStore<#t> {
                &mut self.params
            }

            fn optimizer(&self) -> &#rt::OptimizerState<#t> {
                &self.optimizer
            }

            fn optimizer_mut(&mut self) -> &mut #rt::OptimizerState<#t> {
                &mut self.optimizer
            }

            fn state(&self) -> &#rt::TrainState {
                &self.state
            }

            fn state_mut(&mut self) -> &mut #rt::TrainState {
                &mut self.state
            }

            fn run_forward(&self, batch: usize, x: &[#t]) -> ::std::vec::Vec<#t> {
                #module::forward::forward(&self.params, x, batch)
            }

            fn run_inspect(&self, batch: usize, x: &[#t], training: bool) -> ::std::vec::Vec<::std::vec::Vec<#t>> {
                #module::inspect::inspect(&self.params, x, batch, training)
            }

            #graph_methods
        }
    }
}

/// The inherent methods that call the `Model` trait's, so that callers need not import it.
/// The same for every network of float type `t`; the error stub has them too.
fn delegating_methods(t: &TokenStream) -> TokenStream {
    let nd = quote!(::gradc::ndarray);
    let result = quote!(::gradc::Result);
    quote! {
            /// Inference in evaluation mode: the last layer's output for each row of `x`.
            pub fn forward(&self, x: #nd::ArrayView2<'_, #t>) -> #result<#nd::Array2<#t>> {
                <Self as ::gradc::Model>::forward(self, x)
            }

            /// One training step (forward, loss, backward, update); on `Err` nothing changed.
            pub fn train_step<'a>(
                &mut self,
                x: #nd::ArrayView2<'a, #t>,
                targets: impl ::core::convert::Into<::gradc::Targets<'a, #t>>,
            ) -> #result<::gradc::StepStats> {
                <Self as ::gradc::Model>::train_step(self, x, targets)
            }

            /// Forward and backward without the update; read the gradients with `grad`.
            pub fn loss_and_grads<'a>(
                &mut self,
                x: #nd::ArrayView2<'a, #t>,
                targets: impl ::core::convert::Into<::gradc::Targets<'a, #t>>,
            ) -> #result<::gradc::StepStats> {
                <Self as ::gradc::Model>::loss_and_grads(self, x, targets)
            }

            /// Trains on `train` as `options` say; returns the per-epoch history.
            pub fn fit(
                &mut self,
                train: &::gradc::data::Dataset<#t>,
                options: &::gradc::FitOptions<'_, #t>,
            ) -> #result<::gradc::History> {
                <Self as ::gradc::Model>::fit(self, train, options)
            }

            /// Loss, accuracy and confusion matrix of `data` in evaluation mode.
            pub fn evaluate(&self, data: &::gradc::data::Dataset<#t>) -> #result<::gradc::Evaluation> {
                <Self as ::gradc::Model>::evaluate(self, data)
            }

            /// Probabilities and classes for each row of `x`, in evaluation mode.
            pub fn predict(&self, x: #nd::ArrayView2<'_, #t>) -> #result<::gradc::Predictions<#t>> {
                <Self as ::gradc::Model>::predict(self, x)
            }

            /// Every layer's output for the rows of `x`, batch norm in `mode` (for inspection).
            pub fn activations(
                &self,
                x: #nd::ArrayView2<'_, #t>,
                mode: ::gradc::Mode,
            ) -> #result<::gradc::Activations<#t>> {
                <Self as ::gradc::Model>::activations(self, x, mode)
            }

            /// Each layer's activation statistics (mean, std, saturation, dead units) on `x`.
            pub fn activation_stats(
                &self,
                x: #nd::ArrayView2<'_, #t>,
                mode: ::gradc::Mode,
            ) -> #result<::std::vec::Vec<::gradc::ActivationStats>> {
                <Self as ::gradc::Model>::activation_stats(self, x, mode)
            }

            /// The parameter with weights-file name `name` (e.g. `"fc1.weight"`).
            pub fn param(&self, name: &str) -> #result<#nd::ArrayViewD<'_, #t>> {
                <Self as ::gradc::Model>::param(self, name)
            }

            /// Overwrites the parameter `name`; the shape must match.
            pub fn set_param(&mut self, name: &str, value: #nd::ArrayViewD<'_, #t>) -> #result<()> {
                <Self as ::gradc::Model>::set_param(self, name, value)
            }

            /// The gradient of parameter `name` from the last backward pass.
            pub fn grad(&self, name: &str) -> #result<#nd::ArrayViewD<'_, #t>> {
                <Self as ::gradc::Model>::grad(self, name)
            }

            /// Each trainable layer's gradient norm from the last backward pass, in layer order.
            pub fn layer_gradient_norms(&self) -> ::std::vec::Vec<(&'static str, f64)> {
                <Self as ::gradc::Model>::layer_gradient_norms(self)
            }

            /// Weights-file names of all parameters, in file order.
            pub fn param_names(&self) -> ::std::vec::Vec<&'static str> {
                <Self as ::gradc::Model>::param_names(self)
            }

            /// Saves the parameters as safetensors, in PyTorch's `state_dict` layout.
            pub fn save(&self, path: impl ::core::convert::AsRef<::std::path::Path>) -> #result<()> {
                <Self as ::gradc::Model>::save(self, path)
            }

            /// Loads parameters strictly (all present, shapes and dtype exact); on `Err` nothing changed.
            pub fn load(&mut self, path: impl ::core::convert::AsRef<::std::path::Path>) -> #result<()> {
                <Self as ::gradc::Model>::load(self, path)
            }

            /// An optimizer state tensor by name (`fc1.weight.exp_avg`, PyTorch's state names).
            pub fn optimizer_state(&self, name: &str) -> #result<#nd::ArrayViewD<'_, #t>> {
                <Self as ::gradc::Model>::optimizer_state(self, name)
            }

            /// Saves the optimizer state and step count as safetensors.
            pub fn save_optimizer(&self, path: impl ::core::convert::AsRef<::std::path::Path>) -> #result<()> {
                <Self as ::gradc::Model>::save_optimizer(self, path)
            }

            /// Loads optimizer state saved by `save_optimizer`; on `Err` nothing changed.
            pub fn load_optimizer(&mut self, path: impl ::core::convert::AsRef<::std::path::Path>) -> #result<()> {
                <Self as ::gradc::Model>::load_optimizer(self, path)
            }

            /// Loads the tensors of a safetensors file whose names (after `map`) and shapes match,
            /// and reports the rest (`load_state_dict(strict=False)`); on `Err` nothing changed.
            pub fn load_partial(
                &mut self,
                path: impl ::core::convert::AsRef<::std::path::Path>,
                map: &::gradc::NameMap,
            ) -> #result<::gradc::LoadReport> {
                <Self as ::gradc::Model>::load_partial(self, path, map)
            }

            /// Copies the parameters of `other` whose names (after `map`) and shapes match.
            pub fn copy_params_from<M: ::gradc::Model>(
                &mut self,
                other: &M,
                map: &::gradc::NameMap,
            ) -> #result<::gradc::LoadReport> {
                <Self as ::gradc::Model>::copy_params_from(self, other, map)
            }

            /// Saves everything training needs to resume exactly, in one file.
            pub fn save_checkpoint(&self, path: impl ::core::convert::AsRef<::std::path::Path>) -> #result<()> {
                <Self as ::gradc::Model>::save_checkpoint(self, path)
            }

            /// Restores a checkpoint saved by `save_checkpoint`; on `Err` nothing changed.
            pub fn load_checkpoint(&mut self, path: impl ::core::convert::AsRef<::std::path::Path>) -> #result<()> {
                <Self as ::gradc::Model>::load_checkpoint(self, path)
            }

            /// Sets the factor on the learning rate for `layer`'s parameters.
            pub fn set_lr_scale(&mut self, layer: &str, scale: f64) -> #result<()> {
                <Self as ::gradc::Model>::set_lr_scale(self, layer, scale)
            }

            /// Turns updates of `layer`'s parameters on or off.
            pub fn set_trainable(&mut self, layer: &str, trainable: bool) -> #result<()> {
                <Self as ::gradc::Model>::set_trainable(self, layer, trainable)
            }

            /// Changes the learning rate for the next steps.
            pub fn set_lr(&mut self, lr: f64) -> #result<()> {
                <Self as ::gradc::Model>::set_lr(self, lr)
            }

            /// The current learning rate.
            pub fn lr(&self) -> f64 {
                <Self as ::gradc::Model>::lr(self)
            }

            /// A table of the layers: shapes, parameter counts, trainable flags.
            pub fn summary(&self) -> ::std::string::String {
                <Self as ::gradc::Model>::summary(self)
            }
    }
}

/// What the macro emits for a declaration with errors, next to the errors: the struct with
/// the generated API's signatures (bodies that cannot run), so that user code calling
/// `Net::new` or `net.fit(..)` adds no "no function named `new`" noise to the real errors.
pub fn error_stub(vis: &syn::Visibility, name: &syn::Ident, dtype: DType) -> TokenStream {
    let t = float_type(dtype);
    let rt = quote!(::gradc::__private);
    let delegating = delegating_methods(&t);
    let never = quote!(::core::unreachable!("the network! declaration has errors"));
    quote! {
        #[derive(Clone)]
        #vis struct #name {
            _declaration_has_errors: (),
        }

        #[allow(dead_code, unused_variables, reason = "a stand-in while the declaration has errors")]
        impl #name {
            pub const IR: &'static str = "";
            pub const TRAIN_IR: &'static str = "";
            pub const DOT: &'static str = "";

            pub fn new(seed: u64) -> Self {
                #never
            }

            #delegating
        }

        #[allow(unused_variables, reason = "a stand-in while the declaration has errors")]
        impl ::gradc::Model for #name {
            type Scalar = #t;
            fn info() -> &'static #rt::NetworkInfo { #never }
            fn params(&self) -> &#rt::ParamStore<#t> { #never }
            fn params_mut(&mut self) -> &mut #rt::ParamStore<#t> { #never }
            fn optimizer(&self) -> &#rt::OptimizerState<#t> { #never }
            fn optimizer_mut(&mut self) -> &mut #rt::OptimizerState<#t> { #never }
            fn state(&self) -> &#rt::TrainState { #never }
            fn state_mut(&mut self) -> &mut #rt::TrainState { #never }
            fn gradient(&self, index: usize) -> ::core::option::Option<&[#t]> { #never }
            fn run_forward(&self, batch: usize, x: &[#t]) -> ::std::vec::Vec<#t> { #never }
            fn run_inspect(&self, batch: usize, x: &[#t], training: bool) -> ::std::vec::Vec<::std::vec::Vec<#t>> { #never }
            fn run_loss_and_grads(&mut self, batch: usize, x: &[#t], labels: &[usize], targets: &[#t]) -> f64 { #never }
            fn training_output(&self) -> ::core::option::Option<&[#t]> { #never }
            fn workspace_bytes(&self) -> usize { #never }
            fn run_update(&mut self) -> ::core::result::Result<(), usize> { #never }
            fn gradient_mut(&mut self, index: usize) -> ::core::option::Option<&mut [#t]> { #never }
            fn run_finish_gradients(&mut self) { #never }
        }
    }
}
