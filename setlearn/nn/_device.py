"""Which torch device a model may train on, checked before any work starts."""

import torch


def check_device(device):
    """Raise ValueError unless ``device`` names a torch device this machine has.

    Without it a misspelt device, or ``"cuda"`` on a machine without a GPU, fails
    only when the first tensor moves, deep inside training.

    Parameters
    ----------
    device : str or torch.device
        The device, such as ``"cpu"``, ``"cuda"`` or ``"cuda:1"``.

    Returns
    -------
    device : torch.device
        The parsed device.

    Examples
    --------
    >>> from setlearn.nn._device import check_device
    >>> check_device("cpu")
    device(type='cpu')
    >>> check_device("banana")
    Traceback (most recent call last):
    ...
    ValueError: device='banana' is not a torch device; use 'cpu', or 'cuda' where a GPU is available.
    """
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise ValueError(
            f"device={device!r} is not a torch device; use 'cpu', or 'cuda' where a GPU is available."
        ) from None
    if parsed.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device={device!r}, but torch sees no CUDA GPU on this machine; use device='cpu'.")
        if parsed.index is not None and parsed.index >= torch.cuda.device_count():
            raise ValueError(f"device={device!r}, but this machine has {torch.cuda.device_count()} CUDA GPU(s), "
                             f"numbered from 0.")
    elif parsed.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device={device!r}, but the MPS backend is not available here; use device='cpu'.")
    elif parsed.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"device={device!r}: setlearn trains on 'cpu', 'cuda' or 'mps', not {parsed.type!r}.")
    return parsed
