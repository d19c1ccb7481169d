"""trainwell: train deep networks well.

Initializers from zeros to LSUV, the lecture's optimizers, and recipes compared side by
side on built-in data, with the evidence of which one trains and why the others fail.
"""

from trainwell.errors import ConfigError, TrainwellError
from trainwell.recipe import Recipe, load_recipe

__version__ = "0.1.0"

__all__ = ["ConfigError", "TrainwellError", "Recipe", "load_recipe", "__version__"]
