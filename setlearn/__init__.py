"""setlearn: attention-based learning on sets, with a number for whether the attention can be trusted."""

__version__ = "0.1.0.dev0"
