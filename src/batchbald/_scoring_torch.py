"""The torch backend of the chunk scorers (CPU or CUDA tensors).

Split from :mod:`batchbald._scoring`, whose numpy kernel is the faster one on
the CPU; this backend runs bfloat16 tensors and the GPU.
"""

from __future__ import annotations

import numpy as np

from ._devices import is_torch_tensor
from ._scoring import _SCREEN_FLOOR, _Scorer
from .information import check_probabilities

__all__ = ["TorchScorer"]


class TorchScorer(_Scorer):
    """Scorer on torch tensors, on the CPU or a CUDA device."""

    def __init__(self, probs_K_N_C, *, eps: float, max_memory: int, device=None):
        super().__init__(eps, max_memory)
        try:
            import torch
        except ImportError as exc:  # pragma: no cover - depends on environment
            raise ImportError(
                "device= and torch tensor input need PyTorch: "
                'pip install "batchbald[torch]"'
            ) from exc
        self.torch = torch
        if is_torch_tensor(probs_K_N_C):
            probs = check_probabilities(probs_K_N_C.detach(), "probs_K_N_C")
            if device is not None:
                probs = probs.to(device)
        else:
            arr = check_probabilities(probs_K_N_C, "probs_K_N_C")
            if not arr.dtype.isnative:  # torch reads native byte order only
                arr = arr.astype(arr.dtype.newbyteorder("="))
            probs = torch.from_numpy(np.ascontiguousarray(arr)).to(device)
        self.device = probs.device
        self.probs = probs

    def _dtype(self, precise):
        return self.torch.float64 if precise else self.torch.float32

    def _floor(self, dtype) -> float:
        return max(self.eps, float(self.torch.finfo(dtype).tiny))

    def _to_backend(self, arr, precise):
        return self.torch.as_tensor(
            np.ascontiguousarray(arr), dtype=self._dtype(precise), device=self.device
        )

    @staticmethod
    def _to_numpy(arr):
        return arr.detach().cpu().numpy()

    def _slice(self, start, stop, precise):
        return self.probs[:, start:stop, :].to(self._dtype(precise))

    def _gather(self, idx, precise):
        index = self.torch.as_tensor(np.asarray(idx), device=self.device)
        return self.probs.index_select(1, index).to(self._dtype(precise))

    def _xlogx(self, q):
        return q * q.clamp_min(self._floor(q.dtype)).log()

    def _entropies_chunk(self, start, stop):
        chunk = self.probs[:, start:stop, :].to(self.torch.float64)
        expected = -self._xlogx(chunk).sum(dim=-1).mean(dim=0)
        pred = -self._xlogx(chunk.mean(dim=0)).sum(dim=-1)
        return self._to_numpy(pred), self._to_numpy(expected)

    def _raise_floor(self, chunk):
        return chunk.clamp_min(_SCREEN_FLOOR)

    def _weighted_member_entropy(self, chunk_K_n_C, member_weights_K, precise):
        if precise:
            xlogx_K_n_C = self._xlogx(chunk_K_n_C)
        else:
            xlogx_K_n_C = chunk_K_n_C.log() * chunk_K_n_C
        h_K_n = xlogx_K_n_C.sum(dim=-1)
        return -self._to_numpy(member_weights_K @ h_K_n).astype(np.float64)

    def _cond_entropy_chunk(self, chunk_K_n_C, post_M_K, weights_M, precise):
        K, n, C = chunk_K_n_C.shape
        q_M_nC = post_M_K @ chunk_K_n_C.reshape(K, n * C)
        if precise:
            xlogx_M_nC = self._xlogx(q_M_nC)
        else:  # screening: q >= the raised floor already
            xlogx_M_nC = q_M_nC.log().mul_(q_M_nC)
        xlogx_nC = weights_M @ xlogx_M_nC
        return -self._to_numpy(
            xlogx_nC.reshape(n, C).sum(dim=1, dtype=self.torch.float64)
        )
