"""Safe loading of mmengine checkpoints under torch >= 2.6 (``weights_only=True`` by default).

mmengine 0.10.7 pickles numpy scalars, arrays and dtypes (the seed, the message hub's logs) and
its ``HistoryBuffer`` into every checkpoint; the buffer's class-level statistics table adds
references to ``HistoryBuffer.min``/``max``/``current``/``mean``, which protocol-2 pickles spell
as ``builtins.getattr(HistoryBuffer, 'min')``. torch's safe unpickler refuses all of these
(``Unsupported global: numpy._core.multiarray.scalar``), which breaks ``load_checkpoint`` and
``Runner(resume=True)``. Instead of switching safe loading off, we allow exactly those types,
and ``getattr`` only in the form mmengine writes: a statistics method of ``HistoryBuffer``.
Anything else is still refused.
"""
from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer

_DEFAULT_STATISTICS = frozenset({'min', 'max', 'current', 'mean'})


def _numpy_dtype_classes() -> list[type]:
    """Every concrete numpy dtype class (``np.dtypes.Float64DType``, ...)."""
    classes = (getattr(np.dtypes, name) for name in np.dtypes.__all__)
    return [cls for cls in classes if isinstance(cls, type) and issubclass(cls, np.dtype)]


def history_buffer_getattr(obj: Any, name: str) -> Any:
    """A ``getattr`` that resolves only ``HistoryBuffer.<statistics method>``.

    Args:
        obj: The object the pickle asks an attribute of.
        name: The attribute name.

    Returns:
        The statistics method ``HistoryBuffer.<name>``.

    Raises:
        pickle.UnpicklingError: For any other object or attribute.
    """
    # The table fills when the first buffer is created; a fresh process has only the defaults.
    allowed = _DEFAULT_STATISTICS | set(HistoryBuffer._statistics_methods)
    if obj is HistoryBuffer and name in allowed:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'checkpoint asks for getattr({obj!r}, {name!r}); only the statistics methods of '
        "mmengine HistoryBuffer are allowed by mmdet_dghm's safe-loading rules")


def mmengine_checkpoint_globals() -> list:
    """The globals an mmengine 0.10.x checkpoint needs beyond torch's defaults.

    Returns:
        list: Entries for ``torch.serialization.add_safe_globals``: numpy's scalar and array
        reconstructors, ``np.ndarray``, ``np.dtype`` and its concrete classes, mmengine's
        ``HistoryBuffer``, and :func:`history_buffer_getattr` standing in for
        ``builtins.getattr``.
    """
    return [np._core.multiarray.scalar, np._core.multiarray._reconstruct, np.ndarray,
            np.dtype, *_numpy_dtype_classes(), HistoryBuffer,
            (history_buffer_getattr, 'builtins.getattr')]


def allow_mmengine_checkpoint_globals() -> None:
    """Register :func:`mmengine_checkpoint_globals` with torch's safe unpickler (idempotent)."""
    torch.serialization.add_safe_globals(mmengine_checkpoint_globals())


__all__ = ['allow_mmengine_checkpoint_globals', 'history_buffer_getattr',
           'mmengine_checkpoint_globals']
