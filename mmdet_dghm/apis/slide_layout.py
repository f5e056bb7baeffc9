"""Where a cohort's outputs go: by name, or the input folders mirrored under the output folder.

Each slide's outputs are named by its *key*. When every slide has its own name the key is the
name without extension (``slide1``): a flat cohort keeps the plain ``NAME.*`` layout. When two
slides share a name (``caseA/slide1.svs`` and ``caseB/slide1.svs``), every key is the slide's
path relative to the input root without its extension (``caseA/slide1``), the root being the
deepest folder holding every slide: the outputs mirror the input folders and never collide.
Given a root, the outputs always mirror the folders under it, so a cohort that grows keeps
its layout (and reruns find the finished slides) whatever names are added.
"""
import os
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from ..fileio import IMAGE_EXTENSIONS, PathLike

__all__ = ['find_slides', 'input_root', 'output_keys']


def find_slides(inputs: Sequence[PathLike], recursive: bool = False) -> List[Path]:
    """Image files named by ``inputs``: files as given, folders expanded (sorted).

    Args:
        inputs (Sequence[PathLike]): Files and folders.
        recursive (bool): Expand folders through their subfolders (a cohort of one folder per
            case). Defaults to False (the folder's own images only).

    Returns:
        List[Path]: The images, each once, in the order given (folders sorted by path).

    Raises:
        ValueError: For an input that does not exist, or a folder without images.
    """
    images: List[Path] = []
    for item in map(Path, inputs):
        if item.is_dir():
            candidates = item.rglob('*') if recursive else item.iterdir()
            found = sorted(p for p in candidates
                           if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
            if not found:
                where = ' or its subfolders' if recursive else ''
                raise ValueError(f'{item}: folder{where} holds no images '
                                 f'({", ".join(IMAGE_EXTENSIONS)})')
            images.extend(found)
        elif item.is_file():
            images.append(item)
        else:
            raise ValueError(f'{item}: no such file or folder')
    # A file given both alone and through its folder runs once.
    seen, unique = set(), []
    for image in images:
        absolute = os.path.abspath(image)
        if absolute not in seen:
            seen.add(absolute)
            unique.append(image)
    return unique


def input_root(slides: Sequence[PathLike]) -> Path:
    """The deepest folder holding every slide (absolute, symbolic links kept)."""
    if not slides:
        raise ValueError('input_root: no slides')
    return Path(os.path.commonpath([os.path.abspath(Path(s).parent) for s in slides]))


def output_keys(slides: Sequence[PathLike], root: Optional[PathLike] = None) -> List[str]:
    """Each slide's output name (see the module's description): its stem when all stems
    differ and no ``root`` is given, else its path relative to the root without the
    extension, with ``/`` separators.

    Args:
        slides (Sequence[PathLike]): The cohort's images.
        root (PathLike, optional): The folder the outputs mirror. Defaults to None: stems
            when they are unique, else mirrored under :func:`input_root` (the deepest folder
            holding every slide).

    Returns:
        List[str]: One key per slide, e.g. ``'slide2'`` or ``'caseA/slide1'``.

    Raises:
        ValueError: Naming the slides when one lies outside ``root`` or two would write the
            same outputs (same folder and stem, e.g. ``a.png`` and ``a.tif``).
    """
    stems = [Path(s).stem for s in slides]
    if root is None and len(set(stems)) == len(stems):
        return stems
    root = Path(os.path.abspath(root)) if root is not None else input_root(slides)
    keys: List[str] = []
    seen: Dict[str, Path] = {}
    for slide in map(Path, slides):
        absolute = Path(os.path.abspath(slide))
        try:
            relative = absolute.relative_to(root)
        except ValueError:
            raise ValueError(f'{slide}: not under the input root {root} (--input-root)') \
                from None
        key = relative.with_suffix('').as_posix()
        if key in seen:
            raise ValueError(f'{seen[key]} and {slide} would write the same outputs ({key}.*); '
                             'rename one or run them separately')
        seen[key] = slide
        keys.append(key)
    return keys
