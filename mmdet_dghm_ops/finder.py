"""A ``sys.meta_path`` finder that provides ``mmcv._ext`` when no compiled extension exists.

Appended to the end of ``sys.meta_path``, it is asked only after the standard finders failed, so
a compiled ``mmcv._ext`` always wins. It loads the code of :mod:`mmdet_dghm_ops.mmcv_ext` into a
fresh module named ``mmcv._ext``; no file of mmcv is read or written. Only the standard library is
imported here: the ``.pth`` line that calls :func:`install` runs at every interpreter start-up.
"""
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from types import ModuleType
from typing import Optional, Sequence

EXT_NAME = 'mmcv._ext'
SOURCE_MODULE = 'mmdet_dghm_ops.mmcv_ext'


class TorchExtFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds and loads ``mmcv._ext`` as the torch ops of :mod:`mmdet_dghm_ops.mmcv_ext`."""

    def find_spec(self,
                  fullname: str,
                  path: Optional[Sequence[str]] = None,
                  target: Optional[ModuleType] = None
                  ) -> Optional[importlib.machinery.ModuleSpec]:
        """The spec of ``mmcv._ext`` served by this loader; ``None`` for any other name."""
        if fullname != EXT_NAME:
            return None
        source = importlib.util.find_spec(SOURCE_MODULE)
        if source is None:
            return None
        return importlib.util.spec_from_loader(fullname, self, origin=source.origin)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> None:
        """Default module creation (a plain module named ``mmcv._ext``)."""
        return None

    def exec_module(self, module: ModuleType) -> None:
        """Run the code of :mod:`mmdet_dghm_ops.mmcv_ext` in ``module``."""
        source = importlib.util.find_spec(SOURCE_MODULE)
        module.__file__ = source.origin
        exec(source.loader.get_code(SOURCE_MODULE), module.__dict__)


def install() -> TorchExtFinder:
    """Append the finder to ``sys.meta_path`` once (idempotent).

    Returns:
        TorchExtFinder: The finder in ``sys.meta_path``.
    """
    for finder in sys.meta_path:
        if isinstance(finder, TorchExtFinder):
            return finder
    finder = TorchExtFinder()
    sys.meta_path.append(finder)
    return finder
