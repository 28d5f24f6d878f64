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
    "POOLINGS",
    "StackedLinear",
    "MLPFeaturizer",
    "CNNFeaturizer",
    "ModuleFeaturizer",
    "AttentionPooling",
    "AttentionMILNet",
]


#: Bag poolings of :class:`AttentionMILNet`:
#:
#: * ``"attention"``: attention-weighted mean of the instance features, then
#:   the classifier (Ilse et al., 2018; the study's model);
#: * ``"additive"``: the classifier applied to every instance, then the
#:   attention-weighted sum of the instance logits (Javed et al., 2022), so
#:   every instance's contribution to each class logit is exact;
#: * ``"max"``: the classifier applied to every instance; a class's bag logit
#:   (relative to the first class) is the largest instance evidence for it
#:   (mi-Net's instance-score max pooling), which respects the standard MIL
#:   assumption: a bag is negative only when no instance is positive.
POOLINGS = ("attention", "additive", "max")


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
    n_members : int
        Number of independent layers (members).
    in_features : int
        Width of the input of every member.
    out_features : int
        Width of the output of every member.
    seeds : sequence of int
        One seed per member for the initial weights.
    shared_input : bool, default=False
        If True, ``forward`` takes one input of shape ``(M, in_features)`` that
        every member reads (the first layer of a network); otherwise the input
        has shape ``(E, M, in_features)``.

    Notes
    -----
    The output has shape ``(E, M, out_features)``: a view of a features-major
    ``(E, out_features, M)`` tensor (not contiguous unless ``out_features`` is 1).

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
        n_members, n_in, n_out = self.weight.shape
        # Members compute features-major, out^T = W^T x^T + b^T, and return the
        # (E, M, out) view of an (E, out, M) tensor: with a handful of features,
        # products and element-wise layers run along the long instance axis,
        # 2.5-5.5x faster for one member's (25,000 x 4) @ (4 x 8) product and its
        # gradients than (M, out) rows (benchmarks/bench_layout.py, issue 23).
        # Any input layout is accepted.
        if n_members == 1 or self.shared_input:
            # One 2-D product for all members: (E * out, in) @ (in, M).
            # The network's input stays instances-major: a features-major copy would
            # halve the first layer's backward pass but costs more than it saves
            # (benchmarks/bench_layout.py).
            out = torch.addmm(
                self.bias.reshape(n_members * n_out, 1),
                self.weight.transpose(1, 2).reshape(n_members * n_out, n_in),
                x.reshape(-1, n_in).t(),
            ).view(n_members, n_out, -1)
        else:
            out = torch.baddbmm(self.bias.transpose(1, 2), self.weight.transpose(1, 2), x.transpose(1, 2))
        return out.transpose(1, 2)

    def select(self, member):
        """A one-member copy of this layer holding member ``member``'s weights.

        Parameters
        ----------
        member : int
            Position of the member to copy.

        Returns
        -------
        layer : StackedLinear
            A layer with ``n_members=1``.
        """
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

    Parameters
    ----------
    n_members : int
        Number of members ``E``.
    n_features : int
        Features per instance.
    hidden_size : int
        Width of every layer.
    depth : int
        Number of linear+ReLU layers.
    seeds : sequence of int
        One seed per member for the initial weights.

    Examples
    --------
    >>> import torch
    >>> from setlearn.nn import MLPFeaturizer
    >>> MLPFeaturizer(2, 4, 8, 1, seeds=[0, 1])(torch.zeros(5, 4)).shape
    torch.Size([2, 5, 8])
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

    ``depth`` blocks of 3x3 convolution (8, 16, 32, ... channels), 2x2 max
    pooling (while the image is larger than 1x1) and ReLU, then a linear layer
    to ``hidden_size`` and ReLU. Members are stacked as convolution groups.

    Parameters
    ----------
    n_members : int
        Number of members ``E``.
    image_shape : tuple of int
        ``(H, W)`` or ``(C, H, W)``.
    hidden_size : int
        Width of the output of every member.
    depth : int
        Number of convolution blocks.
    seeds : sequence of int
        One seed per member for the initial weights.

    Examples
    --------
    >>> import torch
    >>> from setlearn.nn import CNNFeaturizer
    >>> CNNFeaturizer(1, (8, 8), 16, 1, seeds=[0])(torch.zeros(5, 8, 8)).shape
    torch.Size([1, 5, 16])
    """

    #: Channels of the first convolution; block ``i`` has ``first_channels * 2**i``.
    first_channels = 8

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
            n_out = self.first_channels * 2**i
            # The first convolution reads the shared input once for all members
            # (groups=1); later ones keep members apart with one group each.
            groups = 1 if i == 0 else n_members
            conv = nn.Conv2d(n_in * (1 if i == 0 else n_members), n_out * n_members, 3, padding=1, groups=groups)
            fan_in = conv.in_channels // groups * 9
            bound = 1.0 / math.sqrt(fan_in)
            for param in (conv.weight, conv.bias):
                _uniform_(param.view(n_members, -1), bound, generators)
            blocks.append(conv)
            if min(height, width) >= 2:
                # Pooling before the ReLU gives the same values and gradients (ReLU is
                # monotone, so both orders pick the same element) on a quarter of the
                # elements: up to a sixth less CPU per MNIST step (benchmarks/README.md).
                blocks.append(nn.MaxPool2d(2))
                height, width = height // 2, width // 2
            blocks.append(nn.ReLU())
            n_in = n_out
        self.convs = nn.Sequential(*blocks)
        self.flat_features = n_in * height * width
        self.head = StackedLinear(n_members, self.flat_features, hidden_size, seeds=[s + 15485863 for s in seeds])

    def forward(self, x):
        x = x.reshape(-1, *self.image_shape)
        h = self.convs(x)  # (M, E * C', H', W')
        h = h.reshape(h.shape[0], self.n_members, self.flat_features).transpose(0, 1)
        return torch.relu(self.head(h))


# Layers whose output for an instance depends on the rest of the batch or on
# randomness drawn per slot while training; see AttentionMILNet.per_instance.
_BATCH_DEPENDENT_LAYERS = (nn.modules.batchnorm._BatchNorm, nn.modules.dropout._DropoutNd)


class ModuleFeaturizer(nn.Module):
    """A user-supplied per-instance torch module, one copy per member.

    Each copy is re-initialised from its member's seed (through the
    ``reset_parameters`` methods of its submodules) and put in training mode,
    so its dropout and BatchNorm layers follow the network's ``train()`` and
    ``eval()`` whatever mode the module was passed in. The module must map a
    batch of instances ``(M, *instance_shape)`` to ``(M, out_features)``.

    Parameters
    ----------
    n_members : int
        Number of copies (members).
    module : torch.nn.Module
        The per-instance module; it is copied, never modified.
    instance_shape : tuple of int
        Shape of one instance.
    seeds : sequence of int
        One seed per member for the initial weights.

    Raises
    ------
    ValueError
        If a trainable parameter belongs to a submodule without
        ``reset_parameters``: it could not be re-initialised, and every
        member would start from the same values.

    Examples
    --------
    >>> import torch
    >>> from setlearn.nn import ModuleFeaturizer
    >>> featurizer = ModuleFeaturizer(2, torch.nn.Linear(4, 3), (4,), seeds=[0, 1])
    >>> featurizer.out_features, featurizer(torch.zeros(5, 4)).shape
    (3, torch.Size([2, 5, 3]))
    """

    def __init__(self, n_members, module, instance_shape, *, seeds):
        super().__init__()
        stuck = [
            f"{owner}.{name}" if owner else name
            for owner, sub in module.named_modules()
            if not hasattr(sub, "reset_parameters")
            for name, param in sub.named_parameters(recurse=False)
            if param.requires_grad
        ]
        if stuck:
            raise ValueError(
                f"The featurizer module's parameter(s) {', '.join(stuck)} belong to a module without a "
                f"reset_parameters() method, so they cannot be re-initialised from random_state and every "
                f"ensemble member would start from the same values. Give that module a reset_parameters() "
                f"that initialises them (setlearn calls it under each member's seed), or freeze them with "
                f"requires_grad_(False)."
            )
        copies = []
        for seed in seeds:
            member = copy.deepcopy(module).train()
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(int(seed))
                for sub in member.modules():
                    if hasattr(sub, "reset_parameters"):
                        sub.reset_parameters()
            copies.append(member)
        self.members = nn.ModuleList(copies)
        with torch.no_grad():
            probe = copies[0].eval()(torch.zeros(2, *instance_shape))
            copies[0].train()
        if probe.ndim != 2 or probe.shape[0] != 2:
            raise ValueError(
                f"The featurizer module must map instances of shape (M, *{tuple(instance_shape)}) to "
                f"(M, out_features); it returned shape {tuple(probe.shape)} for M=2."
            )
        self.out_features = probe.shape[1]

    def forward(self, x):
        return torch.stack([member(x) for member in self.members])


class _SigmoidTanh(torch.autograd.Function):
    """``tanh(x)`` computed as ``2 sigmoid(2x) - 1``, with tanh's own backward.

    The same function to float rounding (at most 2e-7 apart in float32), at
    less cost: on this CPU build torch's float32 ``tanh`` is 6x slower than its
    ``sigmoid`` (253 us against 41 us for 100,000 values), and it was the
    costliest element-wise pass of a study-scale step (benchmarks/bench_layout.py,
    issue 23). The backward pass, ``grad * (1 - tanh^2)``, reads the output.
    """

    @staticmethod
    def forward(ctx, x):
        out = x.mul(2).sigmoid_().mul_(2).sub_(1)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return torch.ops.aten.tanh_backward(grad, out)


class AttentionPooling(nn.Module):
    """Attention pooling of Ilse et al. (2018), tanh or gated, or mean pooling.

    ``a_m = softmax_m(w^T tanh(V h_m))`` (tanh), or
    ``a_m = softmax_m(w^T (tanh(V h_m) * sigmoid(U h_m)))`` (gated), or
    ``a_m = 1 / n`` (mean: uniform weights, no parameters; the baseline that
    asks whether attention is needed at all); padding positions get weight
    exactly 0, so the weights of a bag sum to 1 over its real instances.

    Parameters
    ----------
    n_members : int
        Number of members ``E``.
    in_features : int
        Width ``H`` of the instance representations.
    attention_size : int
        Width of ``V`` (and ``U``); unused by ``"mean"``.
    kind : {"tanh", "gated", "mean"}, default="tanh"
        The attention function.
    seeds : sequence of int
        One seed per member for the initial weights.

    Examples
    --------
    >>> import torch
    >>> from setlearn.nn import AttentionPooling
    >>> pooling = AttentionPooling(1, 8, 4, seeds=[0])
    >>> mask = torch.tensor([[True, True, False]])
    >>> pooling(torch.zeros(1, 1, 3, 8), mask).tolist()
    [[[0.5, 0.5, 0.0]]]
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
        """Weights of shape (E, B, N) from features (E, B, N, H) and mask (B, N).

        ``mask=None`` means every slot is a real instance (no padding work).
        """
        n_members, n_bags, n_instances, n_hidden = h.shape
        if self.kind == "mean":
            if mask is None:
                return h.new_full((n_members, n_bags, n_instances), 1.0 / n_instances)
            # In h's dtype: dividing the boolean mask would round 1/n to float32.
            uniform = mask.to(h.dtype) / mask.sum(dim=-1, keepdim=True)
            return uniform.expand(n_members, n_bags, n_instances)
        scores = self.scores(h)
        return torch.softmax(scores if mask is None else scores.masked_fill(~mask, float("-inf")), dim=-1)

    def scores(self, h):
        """Unnormalised log-weights ``(E, B, N)``: the weights are their softmax over a bag.

        ``"mean"`` has all-zero scores. Explainers that re-pool a bag without some
        of its instances (drop-one) renormalise these instead of the weights.

        Parameters
        ----------
        h : torch.Tensor of shape (E, B, N, H)
            Instance features.

        Returns
        -------
        scores : torch.Tensor of shape (E, B, N)
            Every instance's score, padding included (the mask is applied by
            :meth:`forward`).
        """
        n_members, n_bags, n_instances, n_hidden = h.shape
        if self.kind == "mean":
            return h.new_zeros(n_members, n_bags, n_instances)
        flat = h.reshape(n_members, n_bags * n_instances, n_hidden)
        gate = _SigmoidTanh.apply(self.V(flat))
        if self.U is not None:
            gate = gate * torch.sigmoid(self.U(flat))
        return self.w(gate).view(n_members, n_bags, n_instances)


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
    pooling : {"attention", "additive", "max"}, default="attention"
        How instances become bag logits (see :data:`POOLINGS`).
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
        pooling="attention",
        n_members=1,
        seeds=(0,),
    ):
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {tuple(POOLINGS)}, got {pooling!r}.")
        self.pooling_kind = pooling
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

    def forward(self, x, mask, index=None, return_features=False, full=None):
        """Logits ``(E, B, n_classes)`` and attention ``(E, B, N)`` of a batch of bags.

        A CNN or user featurizer sees only real instances (padding never
        reaches it, so e.g. BatchNorm statistics see real instances only), and
        with ``index`` each row of ``x`` once, however many slots it fills.
        The MLP featurizer maps padded bags slot by slot, padding included:
        padding holds zeros, whose features are finite and get attention
        exactly 0 (and so no gradient), and gathering the real instances and
        scattering their features back costs more than featurizing the few
        padding slots of a size-bucketed batch (half of a training step at
        the study's scale, benchmarks/README.md).

        Parameters
        ----------
        x : torch.Tensor
            Padded bags ``(B, N, *instance_shape)`` when ``index`` is None;
            otherwise the batch's instances ``(U, *instance_shape)``.
        mask : torch.BoolTensor of shape (B, N)
            True for real instances, False for padding.
        index : torch.LongTensor of shape (B, N), default=None
            Row of ``x`` that fills every slot (see :meth:`PaddedBags.batch
            <setlearn.bags.PaddedBags.batch>`); padding slots may point anywhere.
        return_features : bool, default=False
            Also return the instance features ``(E, B, N, H)`` (for explainers;
            stacked MLP or CNN members' are a features-major view, see :class:`StackedLinear`).
        full : bool or None, default=None
            Whether every slot is a real instance, when the caller knows
            (training batches say it, from the bag sizes): then no padding or
            mask work and no look at the mask's values, a host sync per step
            (on a GPU a wait for the device). None looks at the mask.
        """
        n_bags, n_instances = mask.shape
        if full is None:
            full = index is None and bool(mask.all())
        if index is None and (full or isinstance(self.featurizer, MLPFeaturizer)):
            # Every slot is a real instance, or the featurizer maps padding to
            # finite features that the mask then excludes (see above).
            h = self._featurize(x.reshape(n_bags * n_instances, *self.instance_shape))
        else:
            if index is None:
                # Gather the real instances through the mask; padding slots
                # then read row 0, a real instance that the mask excludes.
                x = x[mask]
                index = torch.zeros(mask.shape, dtype=torch.long, device=mask.device)
                index[mask] = torch.arange(len(x), device=mask.device)
            h = torch.index_select(self._featurize(x), 1, index.reshape(-1))
        h = h.view(self.n_members, n_bags, n_instances, -1)
        logits, attention = self.pool(h, None if full else mask)
        return (logits, attention, h) if return_features else (logits, attention)

    def pool(self, h, mask):
        """Bag logits ``(E, B, n_classes)`` and attention ``(E, B, N)`` from instance features.

        The part of :meth:`forward` after the featurizer: explainers that mask
        instances out of a bag featurize it once and pool it under every mask.

        Parameters
        ----------
        h : torch.Tensor of shape (E, B, N, H)
            Instance features (``forward(..., return_features=True)``).
        mask : torch.BoolTensor of shape (B, N) or None
            True for the instances to pool; None pools every instance.

        Returns
        -------
        logits : torch.Tensor of shape (E, B, n_classes)
            Bag logits of every member.
        attention : torch.Tensor of shape (E, B, N)
            The weights reported as attention (0 at masked positions).
        """
        attention = self.pooling(h, mask)
        if self.pooling_kind != "attention":
            return self._pool_instance_logits(h, attention, mask)
        n_members, n_bags, n_instances, n_hidden = h.shape
        if h.stride(-1) == 1:
            pooled = torch.bmm(
                attention.reshape(-1, 1, n_instances), h.reshape(-1, n_instances, n_hidden)
            ).view(n_members, n_bags, n_hidden)
        else:
            # Features-major h (stacked members): a weighted sum along the
            # instances, which lie next to each other, without a copy of h;
            # written on the (E, H, B, N) view so that its gradient comes out
            # features-major too (mixing layouts slows every later layer).
            pooled = (h.permute(0, 3, 1, 2) * attention.unsqueeze(1)).sum(dim=-1).transpose(1, 2)
        return self.classifier(pooled), attention

    def instance_logits(self, h):
        """The classifier applied to every instance's features.

        Only meaningful for ``pooling="additive"`` and ``"max"``, whose bag
        logits are built from these.

        Parameters
        ----------
        h : torch.Tensor of shape (E, B, N, H)
            Instance features (``forward(..., return_features=True)``).

        Returns
        -------
        logits : torch.Tensor of shape (E, B, N, n_classes)
            Every instance's class logits.
        """
        n_members, n_bags, n_instances, n_hidden = h.shape
        return self.classifier(h.reshape(n_members, n_bags * n_instances, n_hidden)).view(
            n_members, n_bags, n_instances, -1
        )

    def _pool_instance_logits(self, h, attention, mask):
        instance_logits = self.instance_logits(h)
        if self.pooling_kind == "additive":
            # Sum of attention-weighted instance logits: each instance's share of
            # every class logit is exact (padding has weight 0 and finite logits).
            return (attention.unsqueeze(-1) * instance_logits).sum(dim=2), attention
        # "max": evidence of class c over the first (background) class, per
        # instance; a bag shows class c as strongly as its strongest instance.
        # Class 0's logit is 0, so for two classes this is mi-Net's max of
        # instance scores, and negative evidence cannot make a bag negative.
        evidence = instance_logits - instance_logits[..., :1]
        if mask is not None:
            evidence = evidence.masked_fill(~mask[None, :, :, None], float("-inf"))
        logits = evidence.max(dim=2).values
        # The weights report which instance decides: the one with the strongest
        # evidence for any non-background class. Instances tied with it up to
        # float rounding share the weight, so that padding a bag (which changes
        # the rounding of its features) cannot move it to another instance.
        strongest = evidence[..., 1:].amax(dim=-1)
        top = strongest.amax(dim=-1, keepdim=True)
        tied = (strongest >= top - 1e-5 * top.abs().clamp_min(1.0)).to(h.dtype)
        return logits, tied / tied.sum(dim=-1, keepdim=True)

    @property
    def per_instance(self):
        """Whether, in training mode too, the featurizer maps each instance alone.

        False when a user featurizer holds BatchNorm or dropout layers: their
        output depends on the batch, or on randomness drawn per slot, so
        training must featurize every real slot rather than each distinct
        instance once.
        """
        return not any(isinstance(m, _BATCH_DEPENDENT_LAYERS) for m in self.featurizer.modules())

    def _featurize(self, instances):
        """Features ``(E, M, H)`` of instances ``(M, *instance_shape)``."""
        if isinstance(self.featurizer, MLPFeaturizer):
            instances = instances.reshape(len(instances), -1)
        return self.featurizer(instances)

    def select(self, member):
        """A one-member network holding member ``member``'s weights.

        Used to hand each member of a jointly trained ensemble out as a model of
        its own; its outputs equal that member's outputs in the stacked network.

        Parameters
        ----------
        member : int
            Position of the member to copy.

        Returns
        -------
        net : AttentionMILNet
            A network with ``n_members=1``.
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
