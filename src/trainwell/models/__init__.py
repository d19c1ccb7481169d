"""Models by name: the built-in ``linear``, ``mlp``, ``cnn``, ``resnet``, ``gru`` and
``convbase`` (the mnist1d repository's baseline), or a user factory
``"package.module:factory"``.

A recipe's ``[model]`` section names a model and its options; :func:`build_model` resolves the
name in :data:`MODELS` (or imports the user's factory), checks the options against the
factory's keyword-only signature and builds the network.

>>> model = build_model("mlp", input_shape=(1, 40), num_classes=10, depth=2)
>>> model.trainwell_activation
('relu', 0.01)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from torch import nn

from trainwell._spec import is_spec
from trainwell.errors import ConfigError
from trainwell.models.activations import ACTIVATIONS, Maxout, MaxoutConv, make_activation
from trainwell.models.blocks import check_dropconnect
from trainwell.models.cnn import CNN, cnn
from trainwell.models.gru import GRU, gru
from trainwell.models.linear import LinearClassifier, linear
from trainwell.models.mlp import MLP, mlp
from trainwell.models.mnist1d import MNIST1D_REFERENCE, ConvBase, convbase
from trainwell.models.pooling import FractionalMaxPool
from trainwell.models.resnet import ResNet, check_residual_activation, resnet
from trainwell.models.user import build_user_model, check_user_options, load_factory
from trainwell.names import get
from trainwell.params import validate_params

__all__ = [
    "MODELS",
    "DESCRIPTIONS",
    "ACTIVATIONS",
    "build_model",
    "validate_model_options",
    "model_options_fn",
    "is_user_model",
    "linear",
    "mlp",
    "cnn",
    "resnet",
    "gru",
    "convbase",
    "MNIST1D_REFERENCE",
    "LinearClassifier",
    "MLP",
    "CNN",
    "ResNet",
    "GRU",
    "ConvBase",
    "FractionalMaxPool",
    "make_activation",
    "Maxout",
    "MaxoutConv",
    "load_factory",
]

MODELS: dict[str, Callable[..., nn.Module]] = {
    "linear": linear, "mlp": mlp, "cnn": cnn, "resnet": resnet, "gru": gru, "convbase": convbase,
}

DESCRIPTIONS: dict[str, str] = {
    "linear": "softmax regression: flatten, one Linear layer to the logits, no hidden layer",
    "mlp": "fully connected: flatten, depth × width hidden units, linear head",
    "cnn": "convolutional (Conv1d for (C, L), Conv2d for (C, H, W)), global average pool, linear head",
    "resnet": "residual network: conv blocks (1-D/2-D) or residual MLP blocks, stochastic depth, "
              "fractional pooling",
    "gru": "recurrent: a bidirectional GRU along a (C, L) signal, every step's output into a "
           "linear head (MNIST-1D's GRU baseline)",
    "convbase": "the mnist1d repository's ConvBase: 3 strided Conv1d of 25 channels, ReLU, "
                "linear head on the flattened features",
}


def is_user_model(name: str) -> bool:
    """True when ``name`` is a user factory spec ``"package.module:factory"`` (it has a colon)."""
    return is_spec(name)


def model_options_fn(name: str) -> Callable[..., Any]:
    """The function whose signature defines the options of model ``name`` (built-in or user).

    >>> model_options_fn("cnn") is cnn
    True
    """
    if is_user_model(name):
        return load_factory(name, key="model.name")
    try:
        return get(MODELS, name, key="model.name")
    except ConfigError as exc:
        raise ConfigError(exc.key, exc.value, f"{exc.allowed}, or a user factory "
                          "'package.module:factory'") from None


def validate_model_options(name: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """Return the options of model ``name`` checked (and, for built-ins, with defaults filled in).

    Built-in options are checked strictly against type hints and constraints, and against each
    other (DropConnect with maxout or a norm before the activation, a residual network with
    maxout); a user factory's options only by name against its signature. Raises
    :class:`ConfigError` at ``model.<key>``.

    >>> validate_model_options("mlp", {"depth": 2})["width"]
    128
    """
    fn = model_options_fn(name)
    if is_user_model(name):
        return check_user_options(fn, options, spec=name, key="model")
    checked = validate_params(fn, options, key="model")
    if name in ("mlp", "cnn"):
        check_dropconnect(checked["dropconnect"], activation=checked["activation"],
                          batch_norm=checked["batch_norm"])
    after = checked.get("pool_after")
    if name == "cnn" and after and max(after) > len(checked["channels"]):
        raise ConfigError("model.pool_after", after, f"block numbers from 1 to "
                          f"{len(checked['channels'])} (one per entry of model.channels)")
    elif name == "resnet":
        check_residual_activation(checked["activation"])
    return checked


def build_model(name: str, *, input_shape: Sequence[int], num_classes: int, **options: Any) -> nn.Module:
    """Build model ``name`` for inputs of ``input_shape`` (per sample) and ``num_classes`` logits.

    ``name`` is a key of :data:`MODELS` or a spec ``"package.module:factory"``; ``options`` are
    the recipe's other ``[model]`` entries.

    >>> build_model("cnn", input_shape=(1, 40), num_classes=10, channels=[8]).head
    Linear(in_features=8, out_features=10, bias=True)
    """
    if is_user_model(name):
        return build_user_model(name, input_shape=input_shape, num_classes=num_classes,
                                options=options, key="model")
    checked = validate_model_options(name, options)
    return MODELS[name](input_shape, num_classes, **checked)
