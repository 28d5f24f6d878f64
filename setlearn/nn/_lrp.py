"""Layer-wise relevance propagation through an :class:`AttentionMILNet` (xMIL-LRP).

xMIL-LRP (Hense et al., "xMIL: Insightful Explanations for Multiple Instance
Learning in Histopathology", NeurIPS 2024) propagates the explained class
logit back to the instances with LRP's epsilon rule in every linear and
convolution layer, and treats the attention weights as constants (their
"AH-rule": relevance flows through the attention-weighted sum of the instance
features in proportion to ``a_m * h_m``, never into the attention branch).

For a network of linear maps and piecewise-linear activations the epsilon rule
is gradient x input of a network whose linear layers pass, in the backward
pass, the gradient scaled by ``z / (z + epsilon * sign(z))`` (``z`` the layer's
output): relevance ``R_j = x_j * sum_k w_jk R_k / (z_k + epsilon sign z_k)``
with ``R_k = z_k * grad_k``. :func:`lrp_rules` installs exactly that as
forward hooks (the forward values are unchanged), so one forward and one
backward pass explain a whole batch of bags. ReLU passes relevance where it is
active; max pooling (in the CNN, or ``pooling="max"``) routes it to the
winning input; biases and ``epsilon`` absorb the rest, so the instance
relevances of a bag sum to its logit minus the bias and stabiliser terms
(exactly to the logit for a bias-free net with ``epsilon=0``; tested).
"""

from contextlib import contextmanager
from functools import partial

import torch
from torch import nn

from ._modules import ModuleFeaturizer, StackedLinear

#: LRP-epsilon's stabiliser, in units of the layers' pre-activations. Small
#: against the hidden activations of the study's models (order 0.1 to 10), so
#: the relevances stay close to conservation; larger values (0.1 to 0.25 in the
#: LRP literature) absorb more of the weak, noisy contributions.
LRP_EPSILON = 1e-2

# Layers the epsilon rule is applied to, and layers whose gradient already is
# the LRP rule (ReLU passes relevance where active; max pooling to the winner;
# average pooling, flattening and eval-mode dropout are linear and bias-free).
_RULE_LAYERS = (StackedLinear, nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)
_PASS_THROUGH = (nn.ReLU, nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d,
                 nn.Flatten, nn.Identity, nn.Dropout)


def check_lrp_supported(module):
    """Raise a clear error when a user featurizer holds layers without an LRP rule."""
    if not isinstance(module.featurizer, ModuleFeaturizer):
        return
    for member in module.featurizer.members:
        for layer in member.modules():
            if isinstance(layer, (nn.Sequential, *_RULE_LAYERS, *_PASS_THROUGH)):
                continue
            raise ValueError(
                f"method='lrp' propagates relevance through nn.Sequential compositions of linear and "
                f"convolution layers (epsilon rule), ReLU, pooling, flattening and dropout; this "
                f"featurizer holds a {type(layer).__name__}, whose forward may do anything. Use "
                f"method='gradient_input' or 'integrated_gradients', or build the featurizer from "
                f"those layers."
            )


def _epsilon_rule(epsilon, layer, inputs, z):
    # Forward value z; backward: the incoming gradient times z / (z + eps sign z).
    # A unit with z == 0 passes no relevance (0/0 in LRP-0).
    stabilised = z + epsilon * torch.where(z >= 0, 1.0, -1.0)
    scale = torch.where(stabilised == 0, 0.0, z / torch.where(stabilised == 0, 1.0, stabilised)).detach()
    frozen = z.detach()
    return frozen + (z - frozen) * scale


def _constant_attention(pooling, inputs, attention):
    return attention.detach()


@contextmanager
def lrp_rules(module, epsilon=LRP_EPSILON):
    """Within this block, gradient x input of ``module`` is its xMIL-LRP relevance.

    Parameters
    ----------
    module : AttentionMILNet
    epsilon : float, default=LRP_EPSILON
        The epsilon rule's stabiliser; 0 is LRP-0 (plain gradient x input with
        constant attention).

    Examples
    --------
    >>> import torch
    >>> from setlearn.nn import AttentionMILNet
    >>> from setlearn.nn._lrp import lrp_rules
    >>> net = AttentionMILNet((3,), 2, hidden_size=4, attention_size=2, featurizer_depth=1,
    ...                       classifier_depth=1, seeds=[0])
    >>> x = torch.randn(1, 5, 3, requires_grad=True)
    >>> with lrp_rules(net):
    ...     logit = net(x, torch.ones(1, 5, dtype=torch.bool))[0][0, 0, 1]
    ...     (grad,) = torch.autograd.grad(logit, x)
    >>> (grad * x).sum(dim=-1).shape
    torch.Size([1, 5])
    """
    check_lrp_supported(module)
    handles = [module.pooling.register_forward_hook(_constant_attention)]
    rule = partial(_epsilon_rule, float(epsilon))
    for part in (module.featurizer, module.classifier):
        handles += [layer.register_forward_hook(rule) for layer in part.modules() if isinstance(layer, _RULE_LAYERS)]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()
