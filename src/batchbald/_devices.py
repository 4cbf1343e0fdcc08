"""Which scorer backend an input goes to: torch tensors and devices, told
apart without importing torch (:func:`batchbald._scoring.make_scorer`)."""

from __future__ import annotations


def is_torch_tensor(x) -> bool:
    """Whether ``x`` is a torch tensor (torch is not imported to tell)."""
    mod = type(x).__module__
    return mod.startswith("torch") and type(x).__name__ == "Tensor"


def is_cpu_device(device) -> bool:
    """Whether ``device`` (None, a string or a torch.device) is the CPU."""
    if device is None:
        return True
    if isinstance(device, str):
        return device == "cpu"
    return type(device).__name__ == "device" and getattr(device, "type", None) == "cpu"


def cpu_numpy_view(probs_K_N_C, device):
    """A zero-copy numpy view of CPU input headed for the CPU, else None.

    None (torch backend) for a device other than the CPU, for a tensor on
    another device (moving it is the torch backend's job) and for bfloat16.
    """
    if not is_cpu_device(device):
        return None
    if not is_torch_tensor(probs_K_N_C):
        return probs_K_N_C
    tensor = probs_K_N_C.detach()
    if tensor.device.type != "cpu" or not tensor.is_floating_point():
        return None
    if str(tensor.dtype) not in _NUMPY_VIEWABLE_TORCH_DTYPES:
        return None
    return tensor.numpy()


# torch dtypes with a numpy equivalent that ``Tensor.numpy`` can view.
_NUMPY_VIEWABLE_TORCH_DTYPES = frozenset(
    ("torch.float16", "torch.float32", "torch.float64")
)
