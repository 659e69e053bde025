"""The names (and aliases) of the component families a config names, readable without importing torch.

Each family's `Registry` is declared over its table here and refuses a name it does not declare, and
tests/test_names.py checks that every declared name is registered, so the config edge (config.py, the CLI)
can check `model.activation = "elu"` or `optimizer.name = "nadm"` at once, before torch and the engine load.
A name's summary stays beside its constructor, in the registering module.
"""

from __future__ import annotations

from deepfit.registry import Names

ACTIVATIONS = Names("activation", [
    "elu", "gelu", "hard_sigmoid", "leaky_relu", ("linear", "identity", "none"), "mish", "prelu", "relu", "rrelu",
    "selu", ("sigmoid", "logistic"), "softplus", "softsign", ("swish", "silu"), "tanh",
])
INITIALIZERS = Names("initializer", [
    "constant", "glorot_normal", "glorot_uniform", "he_normal", "he_uniform", "identity", "kaiming_normal",
    "kaiming_uniform", "lecun_normal", "lecun_uniform", "ones", "orthogonal", "random_normal", "random_uniform",
    "truncated_normal", "variance_scaling", "xavier_normal", "xavier_uniform", "zeros",
])
DROPOUTS = Names("dropout kind", [("alpha", "alpha_dropout"), ("standard", "dropout")])
OPTIMIZERS = Names("optimizer", [
    "adagrad", "adam", "adamax", "adamw", "ftrl", "momentum", "nadam", ("nesterov", "nag"), "rmsprop", "sgd",
    "keras_adagrad", "keras_adam", "keras_adamax", "keras_adamw", "keras_nadam", "keras_rmsprop", "keras_sgd",
])
SCHEDULES = Names("schedule", [
    "constant", "cosine", "exponential", ("one_cycle", "1cycle", "onecycle"),
    ("performance", "reduce_on_plateau", "plateau"), ("piecewise", "piecewise_constant"), "power",
])
CLIPPERS = Names("gradient clipping", ["global_norm", "none", "norm", "value"])
PENALTIES = Names("penalty", ["l1", ("l1_l2", "elastic_net"), "l2"])
# "fashion-mnist" needs no alias: lookup ignores '-' and '_'
DATASETS = Names("dataset", [
    "csv", ("fashion_mnist", "fmnist"), "fashion_mnist_a", "fashion_mnist_b", "idx", "images", "npy", "npz", "python",
])

DECLARED = (ACTIVATIONS, INITIALIZERS, DROPOUTS, OPTIMIZERS, SCHEDULES, CLIPPERS, PENALTIES, DATASETS)
