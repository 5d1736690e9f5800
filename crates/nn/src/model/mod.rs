//! `Sequential`: a stack of layers with Keras's build-compile-fit-evaluate-predict workflow.
//! The model builds its graph once at compile time; every mini-batch is one run of a cached plan.

mod data;
mod progress;
mod summary;
mod train;
mod weights;

pub use data::{Inputs, Targets};
pub use train::{FitArgs, Validation};

use crate::error::{NnError, Result};
use crate::layers::{batched, ApplyContext, Layer, Weight};
use crate::losses::Loss;
use crate::metrics::Metric;
use crate::optimizers::{Adagrad, Adam, GradientDescent, Optimizer, RmsProp};
use rill_graph::{DType, Graph, Shape, TensorId, ALL};
use rill_runtime::Session;

/// An optimizer by Keras name (`"sgd"`, `"adam"`, ...) or by value with hyper-parameters.
pub enum OptimizerSpec {
    Name(String),
    Value(Box<dyn Optimizer>),
}

pub const OPTIMIZER_NAMES: &[&str] = &[
    "sgd", "SGD", "adam", "Adam", "rmsprop", "RMSprop", "adagrad", "Adagrad",
];

impl OptimizerSpec {
    fn resolve(self) -> Result<Box<dyn Optimizer>> {
        match self {
            OptimizerSpec::Value(o) => Ok(o),
            OptimizerSpec::Name(n) => Ok(match n.as_str() {
                "sgd" | "SGD" => Box::new(GradientDescent::default()),
                "adam" | "Adam" => Box::new(Adam::default()),
                "rmsprop" | "RMSprop" | "RMSProp" => Box::new(RmsProp::default()),
                "adagrad" | "Adagrad" => Box::new(Adagrad::default()),
                _ => {
                    return Err(NnError::UnknownName {
                        kind: "optimizer",
                        name: n,
                        known: OPTIMIZER_NAMES.join(", "),
                    })
                }
            }),
        }
    }
}

impl From<&str> for OptimizerSpec {
    fn from(n: &str) -> Self {
        OptimizerSpec::Name(n.to_string())
    }
}

impl<O: Optimizer + 'static> From<O> for OptimizerSpec {
    fn from(o: O) -> Self {
        OptimizerSpec::Value(Box::new(o))
    }
}

/// A loss by Keras name or by value.
pub enum LossSpec {
    Name(String),
    Value(Loss),
}

impl From<&str> for LossSpec {
    fn from(n: &str) -> Self {
        LossSpec::Name(n.to_string())
    }
}

impl From<Loss> for LossSpec {
    fn from(l: Loss) -> Self {
        LossSpec::Value(l)
    }
}

/// The tensors of one mode (training or inference) of the compiled model.
struct Head {
    output: TensorId,
    /// Mean loss over the batch, regularization penalties included.
    loss: TensorId,
    /// Mean of each metric over the batch.
    metrics: Vec<TensorId>,
}

/// What `compile` builds.
struct Compiled {
    graph: Graph,
    session: Session,
    x: TensorId,
    y: TensorId,
    train: Head,
    infer: Head,
    train_op: TensorId,
    loss: Loss,
    metric_names: Vec<String>,
    weights: Vec<Weight>,
    /// Per weight: a placeholder and the assign op that stores it (for set_weights / load).
    setters: Vec<(TensorId, TensorId)>,
    input_shape: Vec<usize>,
    output_shape: Vec<usize>,
}

/// Keras's `Sequential` model.
pub struct Sequential {
    name: String,
    layers: Vec<Box<dyn Layer>>,
    layer_names: Vec<String>,
    seed: Option<u64>,
    compiled: Option<Compiled>,
}

impl Default for Sequential {
    fn default() -> Self {
        Sequential::new(Vec::new())
    }
}

impl Sequential {
    /// A model from a list of layers: `Sequential::new(vec![Box::new(Dense::new(10)), ...])`.
    pub fn new(layers: Vec<Box<dyn Layer>>) -> Sequential {
        let mut m = Sequential {
            name: "sequential".into(),
            layers: Vec::new(),
            layer_names: Vec::new(),
            seed: None,
            compiled: None,
        };
        for l in layers {
            m.push(l);
        }
        m
    }

    /// Adds a layer at the end (Keras's `model.add`). Layers added after `compile` take effect at
    /// the next `compile`.
    pub fn add(&mut self, layer: impl Layer + 'static) {
        self.push(Box::new(layer));
        self.compiled = None;
    }

    fn push(&mut self, layer: Box<dyn Layer>) {
        let base = layer.base_name();
        let taken = self.layers.iter().filter(|l| l.base_name() == base).count();
        let name = if taken == 0 {
            base.to_string()
        } else {
            format!("{base}_{taken}")
        };
        self.layer_names.push(name);
        self.layers.push(layer);
    }

    /// Seeds the weight initializers and dropout: the same seed gives the same model.
    pub fn with_seed(mut self, seed: u64) -> Sequential {
        self.seed = Some(seed);
        self
    }

    pub fn set_name(&mut self, name: &str) {
        self.name = name.to_string();
    }

    pub fn layers(&self) -> &[Box<dyn Layer>] {
        &self.layers
    }

    /// The model's input shape (without the batch axis), from its first layer.
    pub fn input_shape(&self) -> Option<Vec<usize>> {
        self.layers.first().and_then(|l| l.input_shape())
    }

    /// Builds the graph: variables, both modes' forward passes, loss, metrics, training op.
    pub fn compile(
        &mut self,
        optimizer: impl Into<OptimizerSpec>,
        loss: impl Into<LossSpec>,
        metrics: &[&str],
    ) -> Result<()> {
        let optimizer = optimizer.into().resolve()?;
        let loss = match loss.into() {
            LossSpec::Name(n) => Loss::from_name(&n)?,
            LossSpec::Value(l) => l,
        };
        let metric_names: Vec<String> = metrics.iter().map(|m| m.to_string()).collect();
        let metrics = metrics
            .iter()
            .map(|m| Metric::from_name(m))
            .collect::<Result<Vec<_>>>()?;
        let input_shape = self.input_shape().ok_or_else(|| {
            NnError::InvalidArgument("the first layer needs its input shape: Dense::new(n).input_dim(d) or Flatten::new().input_shape(..)".into())
        })?;
        if self.layers.is_empty() {
            return Err(NnError::InvalidArgument(
                "a Sequential model needs at least one layer".into(),
            ));
        }
        self.compiled = None;
        let g = Graph::new();
        if let Some(seed) = self.seed {
            g.set_random_seed(seed);
        }
        let mut shape = input_shape.clone();
        for (layer, name) in self.layers.iter_mut().zip(&self.layer_names) {
            layer.build(&g, name, &shape)?;
            shape = layer.output_shape(&shape)?;
        }
        let output_shape = shape;
        let x = g.try_placeholder(DType::F32, Shape(batched(&input_shape)), "x")?;
        let y_shape = if loss.sparse_labels() {
            batched(&[])
        } else {
            batched(&output_shape)
        };
        let y = g.try_placeholder(DType::F32, Shape(y_shape), "y_true")?;
        let units = output_shape.last().copied().unwrap_or(1);
        let metrics: Vec<Metric> = metrics
            .into_iter()
            .map(|m| m.resolve(units, loss))
            .collect();

        let mut updates = Vec::new();
        let mut head = |training: bool| -> Result<Head> {
            let _scope = g.name_scope(if training { "training" } else { "inference" });
            let ctx = ApplyContext { training };
            let mut h = x;
            for layer in &self.layers {
                h = layer.apply(&g, h, &ctx)?;
                if training {
                    updates.extend(layer.take_updates());
                }
            }
            let mut total = loss.per_sample(y, h)?.try_mean(ALL, false)?;
            for layer in &self.layers {
                for p in layer.penalties(&g)? {
                    total = total.try_add(p)?;
                }
            }
            let metric_ids = metrics
                .iter()
                .map(|m| Ok(m.per_sample(y, h)?.try_mean(ALL, false)?.id()))
                .collect::<Result<_>>()?;
            Ok(Head {
                output: h.id(),
                loss: total.named("loss").id(),
                metrics: metric_ids,
            })
        };
        let train = head(true)?;
        let infer = head(false)?;
        let train_loss = g.tensor(train.loss)?;
        let weights: Vec<Weight> = self.layers.iter().flat_map(|l| l.weights()).collect();
        let trainable: Vec<_> = weights
            .iter()
            .filter(|w| w.trainable)
            .map(|w| g.tensor(w.variable))
            .collect::<Result<_, _>>()?;
        let step = optimizer.minimize(train_loss, Some(&trainable))?;
        let update_ops: Vec<_> = updates
            .iter()
            .map(|u| g.tensor(*u))
            .collect::<Result<_, _>>()?;
        let train_op = g.try_group(&[vec![step], update_ops].concat(), "train")?;
        let setters = {
            let _scope = g.name_scope("set_weights");
            weights
                .iter()
                .map(|w| {
                    let v = g.tensor(w.variable)?;
                    let p = g.try_placeholder(DType::F32, Shape::known(&w.shape), "value")?;
                    Ok((p.id(), v.try_assign(p)?.id()))
                })
                .collect::<Result<Vec<_>>>()?
        };
        let init = g.global_variables_initializer();
        let session = Session::new(&g);
        session.run_target(init)?;
        g.finalize();
        self.compiled = Some(Compiled {
            session,
            x: x.id(),
            y: y.id(),
            train,
            infer,
            train_op: train_op.id(),
            loss,
            // Keras logs a metric under the name it was asked by ('accuracy', 'acc', 'mae').
            metric_names,
            weights,
            setters,
            input_shape,
            output_shape,
            graph: g,
        });
        Ok(())
    }

    fn compiled(&self) -> Result<&Compiled> {
        self.compiled.as_ref().ok_or_else(|| {
            NnError::InvalidArgument(
                "the model must be compiled first: call compile(optimizer, loss, metrics)".into(),
            )
        })
    }

    /// The model's graph (after `compile`), e.g. for `to_dot()`.
    pub fn graph(&self) -> Result<&Graph> {
        Ok(&self.compiled()?.graph)
    }

    /// The names logged per epoch: `loss` and the metrics.
    pub fn metrics_names(&self) -> Result<Vec<String>> {
        let c = self.compiled()?;
        Ok(std::iter::once("loss".to_string())
            .chain(c.metric_names.iter().cloned())
            .collect())
    }
}
