"""Torch modules: featurizer -> attention pooling -> classifier, for one or many members.

Every module here carries a leading *member* dimension: a network built with
``n_members=E`` holds ``E`` independent models with stacked weights and runs
them in one batched matrix product per layer. A single model is simply
``n_members=1``, so single models and same-configuration ensembles share one
code path. Members never mix: the loss is a sum of per-member losses, and
Adam updates every weight element-wise, so training ``E`` stacked members is
equivalent to training them one after another on the same batches.

Shapes used below: ``E`` members, ``B`` bags, ``N`` instances per (padded)
bag, ``M = B * N`` instances in a batch, ``H`` hidden size.
"""

import copy
import math

import numpy as np
import torch
from torch import nn

__all__ = [
    "StackedLinear",
    "MLPFeaturizer",
    "CNNFeaturizer",
    "ModuleFeaturizer",
    "AttentionPooling",
    "AttentionMILNet",
]


def _generators(seeds):
    return [torch.Generator().manual_seed(int(s)) for s in seeds]


def _uniform_(tensor, bound, generators):
    """Fill ``tensor[e]`` from member ``e``'s generator, uniform in [-bound, bound].

    Per-member generators make a member's initial weights depend only on its
    own seed, not on how many members are trained beside it.
    """
    with torch.no_grad():
        for e, gen in enumerate(generators):
            tensor[e].uniform_(-bound, bound, generator=gen)


class StackedLinear(nn.Module):
    """``n_members`` independent linear layers, applied in one batched product.

    Initialised like :class:`torch.nn.Linear` (uniform in ``±1/sqrt(in_features)``).

    Parameters
    ----------
    n_members, in_features, out_features : int
    seeds : sequence of int
        One seed per member for the initial weights.
    shared_input : bool, default=False
        If True, ``forward`` takes one input of shape ``(M, in_features)`` that
        every member reads (the first layer of a network); otherwise the input
        has shape ``(E, M, in_features)``.

    Examples
    --------
    >>> import torch
    >>> layer = StackedLinear(3, 4, 2, seeds=[0, 1, 2])
    >>> layer(torch.zeros(3, 5, 4)).shape
    torch.Size([3, 5, 2])
    """

    def __init__(self, n_members, in_features, out_features, *, seeds, shared_input=False):
        super().__init__()
        self.shared_input = shared_input
        self.weight = nn.Parameter(torch.empty(n_members, in_features, out_features))
        self.bias = nn.Parameter(torch.empty(n_members, 1, out_features))
        generators = _generators(seeds)
        bound = 1.0 / math.sqrt(in_features)
        _uniform_(self.weight, bound, generators)
        _uniform_(self.bias, bound, generators)

    def forward(self, x):
        if self.weight.shape[0] == 1:
            # One member (a plain classifier): a 2-D product dispatches faster.
            return torch.addmm(self.bias[0], x.reshape(-1, x.shape[-1]), self.weight[0]).unsqueeze(0)
        if self.shared_input:
            # A broadcast view, not a copy; the output comes out member-first and
            # contiguous, which the later batched layers need.
            x = x.expand(self.weight.shape[0], *x.shape)
        return torch.baddbmm(self.bias, x, self.weight)

    def select(self, member):
        """A one-member copy of this layer holding member ``member``'s weights."""
        layer = copy.deepcopy(self)
        layer.weight = nn.Parameter(self.weight.detach()[member : member + 1].clone())
        layer.bias = nn.Parameter(self.bias.detach()[member : member + 1].clone())
        return layer


def _mlp(n_members, sizes, seeds, *, shared_input, final_activation):
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        # Offset the seeds per layer so layers of equal shape start differently.
        layer_seeds = [s + 7919 * (i + 1) for s in seeds]
        layers.append(StackedLinear(n_members, n_in, n_out, seeds=layer_seeds, shared_input=shared_input and i == 0))
        if final_activation or i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class MLPFeaturizer(nn.Module):
    """Per-instance multilayer perceptron: ``depth`` linear+ReLU layers.

    Maps instances of shape ``(M, n_features)`` to ``(E, M, hidden_size)``.
    """

    def __init__(self, n_members, n_features, hidden_size, depth, *, seeds):
        super().__init__()
        self.out_features = hidden_size
        sizes = [n_features] + [hidden_size] * depth
        self.layers = _mlp(n_members, sizes, seeds, shared_input=True, final_activation=True)

    def forward(self, x):
        return self.layers(x)


class CNNFeaturizer(nn.Module):
    """Per-instance small CNN for images of shape ``(H, W)`` or ``(C, H, W)``.

    ``depth`` blocks of 3x3 convolution (8, 16, 32, ... channels), ReLU and
    2x2 max pooling (while the image is larger than 1x1), then a linear layer
    to ``hidden_size`` and ReLU. Members are stacked as convolution groups.
    """

    def __init__(self, n_members, image_shape, hidden_size, depth, *, seeds):
        super().__init__()
        channels, height, width = (1, *image_shape) if len(image_shape) == 2 else image_shape
        self.n_members = n_members
        self.out_features = hidden_size
        self.image_shape = (channels, height, width)
        generators = _generators([s + 104729 for s in seeds])
        blocks = []
        n_in = channels
        for i in range(depth):
            n_out = 8 * 2**i
            # The first convolution reads the shared input once for all members
            # (groups=1); later ones keep members apart with one group each.
            groups = 1 if i == 0 else n_members
            conv = nn.Conv2d(n_in * (1 if i == 0 else n_members), n_out * n_members, 3, padding=1, groups=groups)
            fan_in = conv.in_channels // groups * 9
            bound = 1.0 / math.sqrt(fan_in)
            for param in (conv.weight, conv.bias):
                _uniform_(param.view(n_members, -1), bound, generators)
            blocks += [conv, nn.ReLU()]
            if min(height, width) >= 2:
                blocks.append(nn.MaxPool2d(2))
                height, width = height // 2, width // 2
            n_in = n_out
        self.convs = nn.Sequential(*blocks)
        self.flat_features = n_in * height * width
        self.head = StackedLinear(n_members, self.flat_features, hidden_size, seeds=[s + 15485863 for s in seeds])

    def forward(self, x):
        x = x.reshape(-1, *self.image_shape)
        h = self.convs(x)  # (M, E * C', H', W')
        h = h.reshape(h.shape[0], self.n_members, self.flat_features).transpose(0, 1)
        return torch.relu(self.head(h))


class ModuleFeaturizer(nn.Module):
    """A user-supplied per-instance torch module, one copy per member.

    Each copy is re-initialised from its member's seed (through the
    ``reset_parameters`` methods of its submodules). The module must map a
    batch of instances ``(M, *instance_shape)`` to ``(M, out_features)``.
    """

    def __init__(self, n_members, module, instance_shape, *, seeds):
        super().__init__()
        copies = []
        for seed in seeds:
            member = copy.deepcopy(module)
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(int(seed))
                for sub in member.modules():
                    if hasattr(sub, "reset_parameters"):
                        sub.reset_parameters()
            copies.append(member)
        self.members = nn.ModuleList(copies)
        with torch.no_grad():
            probe = copies[0](torch.zeros(2, *instance_shape))
        if probe.ndim != 2 or probe.shape[0] != 2:
            raise ValueError(
                f"The featurizer module must map instances of shape (M, *{tuple(instance_shape)}) to "
                f"(M, out_features); it returned shape {tuple(probe.shape)} for M=2."
            )
        self.out_features = probe.shape[1]

    def forward(self, x):
        return torch.stack([member(x) for member in self.members])


class AttentionPooling(nn.Module):
    """Attention pooling of Ilse et al. (2018), tanh or gated, or mean pooling.

    ``a_m = softmax_m(w^T tanh(V h_m))`` (tanh), or
    ``a_m = softmax_m(w^T (tanh(V h_m) * sigmoid(U h_m)))`` (gated), or
    ``a_m = 1 / n`` (mean: uniform weights, no parameters; the baseline that
    asks whether attention is needed at all); padding positions get weight
    exactly 0, so the weights of a bag sum to 1 over its real instances.
    """

    def __init__(self, n_members, in_features, attention_size, *, kind="tanh", seeds):
        super().__init__()
        self.kind = kind
        if kind == "mean":
            self.V = self.U = self.w = None
            return
        self.V = StackedLinear(n_members, in_features, attention_size, seeds=[s + 31 for s in seeds])
        self.U = (
            StackedLinear(n_members, in_features, attention_size, seeds=[s + 37 for s in seeds])
            if kind == "gated"
            else None
        )
        self.w = StackedLinear(n_members, attention_size, 1, seeds=[s + 41 for s in seeds])

    def forward(self, h, mask):
        """Weights of shape (E, B, N) from features (E, B, N, H) and mask (B, N)."""
        n_members, n_bags, n_instances, n_hidden = h.shape
        if self.kind == "mean":
            uniform = mask / mask.sum(dim=-1, keepdim=True)
            return uniform.to(h.dtype).expand(n_members, n_bags, n_instances)
        flat = h.reshape(n_members, n_bags * n_instances, n_hidden)
        gate = torch.tanh(self.V(flat))
        if self.U is not None:
            gate = gate * torch.sigmoid(self.U(flat))
        logits = self.w(gate).view(n_members, n_bags, n_instances)
        logits = logits.masked_fill(~mask, float("-inf"))
        return torch.softmax(logits, dim=-1)


class AttentionMILNet(nn.Module):
    """Deep-Sets attention network: featurizer -> attention pooling -> classifier.

    Parameters
    ----------
    instance_shape : tuple of int
        Shape of one instance: ``(n_features,)`` or an image ``(H, W)`` / ``(C, H, W)``.
    n_classes : int
        Number of outputs of the classifier.
    hidden_size, attention_size, featurizer_depth, classifier_depth : int
        The study's grid parameters (see :class:`setlearn.AttentionMILClassifier`).
    attention : {"tanh", "gated", "mean"}
    featurizer : {"mlp", "cnn"} or torch.nn.Module
    n_members : int, default=1
        Number of independent stacked models.
    seeds : sequence of int
        One initialisation seed per member.

    Examples
    --------
    >>> import torch
    >>> net = AttentionMILNet((4,), 2, hidden_size=8, attention_size=4, featurizer_depth=1,
    ...                       classifier_depth=1, featurizer="mlp", seeds=[0])
    >>> logits, attention = net(torch.zeros(3, 5, 4), torch.ones(3, 5, dtype=torch.bool))
    >>> tuple(logits.shape), tuple(attention.shape)
    ((1, 3, 2), (1, 3, 5))
    """

    def __init__(
        self,
        instance_shape,
        n_classes,
        *,
        hidden_size,
        attention_size,
        featurizer_depth,
        classifier_depth,
        attention="tanh",
        featurizer="mlp",
        n_members=1,
        seeds=(0,),
    ):
        super().__init__()
        seeds = [int(s) for s in seeds]
        if len(seeds) != n_members:
            raise ValueError(f"Need one seed per member: got {len(seeds)} seeds for {n_members} members.")
        self.instance_shape = tuple(instance_shape)
        self.n_members = n_members
        if isinstance(featurizer, nn.Module):
            self.featurizer = ModuleFeaturizer(n_members, featurizer, self.instance_shape, seeds=seeds)
        elif featurizer == "mlp":
            self.featurizer = MLPFeaturizer(
                n_members, int(np.prod(self.instance_shape)), hidden_size, featurizer_depth, seeds=seeds
            )
        elif featurizer == "cnn":
            self.featurizer = CNNFeaturizer(n_members, self.instance_shape, hidden_size, featurizer_depth, seeds=seeds)
        else:
            raise ValueError(f"featurizer must be 'mlp', 'cnn' or a torch.nn.Module, got {featurizer!r}.")
        n_hidden = self.featurizer.out_features
        self.pooling = AttentionPooling(n_members, n_hidden, attention_size, kind=attention, seeds=seeds)
        sizes = [n_hidden] * classifier_depth + [n_classes]
        self.classifier = _mlp(n_members, sizes, [s + 53 for s in seeds], shared_input=False, final_activation=False)

    def forward(self, x, mask):
        """Logits ``(E, B, n_classes)`` and attention ``(E, B, N)`` of padded bags.

        Parameters
        ----------
        x : torch.Tensor of shape (B, N, *instance_shape)
        mask : torch.BoolTensor of shape (B, N)
            True for real instances, False for padding.
        """
        n_bags, n_instances = mask.shape
        instances = x.reshape(n_bags * n_instances, *self.instance_shape)
        if isinstance(self.featurizer, MLPFeaturizer):
            instances = instances.reshape(n_bags * n_instances, -1)
        h = self.featurizer(instances).view(self.n_members, n_bags, n_instances, -1)
        attention = self.pooling(h, mask)
        n_hidden = h.shape[-1]
        pooled = torch.bmm(
            attention.reshape(-1, 1, n_instances), h.reshape(-1, n_instances, n_hidden)
        ).view(self.n_members, n_bags, n_hidden)
        logits = self.classifier(pooled)
        return logits, attention

    def select(self, member):
        """A one-member network holding member ``member``'s weights.

        Used to hand each member of a jointly trained ensemble out as a model of
        its own; its outputs equal that member's outputs in the stacked network.
        """
        n_members = self.n_members
        single = copy.deepcopy(self)
        single.n_members = 1
        with torch.no_grad():
            for module in list(single.modules()):
                if isinstance(module, StackedLinear):
                    module.weight = nn.Parameter(module.weight[member : member + 1].clone())
                    module.bias = nn.Parameter(module.bias[member : member + 1].clone())
                elif isinstance(module, CNNFeaturizer):
                    module.n_members = 1
                    for conv in module.convs:
                        if isinstance(conv, nn.Conv2d):
                            per_member = conv.out_channels // n_members
                            keep = slice(member * per_member, (member + 1) * per_member)
                            conv.weight = nn.Parameter(conv.weight[keep].clone())
                            conv.bias = nn.Parameter(conv.bias[keep].clone())
                            conv.out_channels = per_member
                            if conv.groups > 1:
                                conv.in_channels //= conv.groups
                                conv.groups = 1
                elif isinstance(module, ModuleFeaturizer):
                    module.members = nn.ModuleList([module.members[member]])
        return single
