"""Distributions this environment already has, reused without a download: rebuilt as the wheels
they were installed from (a local package index), or linked into another environment."""
import base64
import hashlib
import os
import sys
import sysconfig
import zipfile
from importlib.metadata import Distribution, distributions
from pathlib import Path, PurePosixPath
from typing import Dict, Iterable

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

#: pip's notes about an installation, not files of the wheel (RECORD is written anew).
INSTALL_NOTES = ('INSTALLER', 'REQUESTED', 'direct_url.json', 'RECORD')


def installed() -> Dict[str, Distribution]:
    """The distributions this interpreter imports, by canonical name.

    Its site-packages come first (a checkout on ``sys.path`` holds the project's build
    metadata too), then the other folders of ``sys.path`` (``.pth`` files add some).
    """
    site = list(dict.fromkeys([sysconfig.get_paths()['purelib'], sysconfig.get_paths()['platlib']]))
    found: Dict[str, Distribution] = {}
    for dist in distributions(path=site + [p for p in sys.path if p not in site]):
        found.setdefault(canonicalize_name(dist.metadata['Name']), dist)
    return found


def requirement_closure(roots: Iterable[str], exclude: Iterable[str] = ()
                        ) -> Dict[str, Distribution]:
    """The installed distributions ``roots`` need, themselves included, transitively.

    Args:
        roots (Iterable[str]): Requirements (``'mmdet-dghm[tests]'``); extras are followed.
        exclude (Iterable[str]): Names neither listed nor followed.

    Returns:
        dict[str, Distribution]: By canonical name; markers are evaluated for this interpreter.
    """
    have, skip = installed(), {canonicalize_name(name) for name in exclude}
    found: Dict[str, Distribution] = {}
    seen = set()
    todo = [Requirement(root) for root in roots]
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        if name in skip or (name, frozenset(req.extras)) in seen:
            continue
        seen.add((name, frozenset(req.extras)))
        if name not in have:
            raise LookupError(f'{req} is needed but not installed in {sys.prefix}')
        found[name] = have[name]
        for line in have[name].requires or []:
            dep = Requirement(line)
            if dep.marker is None or any(dep.marker.evaluate({'extra': extra})
                                         for extra in req.extras or {''}):
                todo.append(dep)
    return found


def _dist_info(dist: Distribution) -> str:
    """The ``name-version.dist-info`` folder of ``dist``, relative to its site-packages."""
    return next(PurePosixPath(str(f)).parts[0] for f in dist.files
                if PurePosixPath(str(f)).parts[0].endswith('.dist-info'))


def _wheel_tags(dist: Distribution) -> str:
    """``python-abi-platform`` of the wheel's file name, from the tags its WHEEL file lists."""
    tags = [line.split(':', 1)[1].strip().split('-')
            for line in dist.read_text('WHEEL').splitlines() if line.startswith('Tag:')]
    return '-'.join('.'.join(dict.fromkeys(tag[i] for tag in tags)) for i in range(3))


def repack(dist: Distribution, dest: Path) -> Path:
    """Write the wheel ``dist`` was installed from, rebuilt from the files its RECORD lists.

    Byte-code caches and pip's notes are left out; scripts go back under ``.data/scripts`` (with
    the ``#!python`` line pip rewrites on install) except the console scripts pip makes from the
    entry points, other files outside site-packages under ``.data/data``.

    Args:
        dist (Distribution): An installed distribution (not an editable one).
        dest (Path): Folder for the wheel.

    Returns:
        Path: The wheel, stored uncompressed.
    """
    if dist.files is None:
        raise ValueError(f'{dist.metadata["Name"]}: no RECORD, cannot be rebuilt as a wheel')
    site = Path(dist.locate_file(''))
    info = _dist_info(dist)
    stem = info[:-len('.dist-info')]
    scripts, prefix = Path(sysconfig.get_path('scripts')), Path(sys.prefix)
    generated = {ep.name for ep in dist.entry_points
                 if ep.group in ('console_scripts', 'gui_scripts')}
    wheel = dest / f'{stem}-{_wheel_tags(dist)}.whl'
    record = []
    with zipfile.ZipFile(wheel, 'w', zipfile.ZIP_STORED) as archive:
        for entry in dist.files:
            parts = PurePosixPath(str(entry)).parts
            if '__pycache__' in parts or (parts[0] == info and parts[-1] in INSTALL_NOTES):
                continue
            path = Path(os.path.normpath(site / str(entry)))
            data = path.read_bytes()
            if parts[0] != '..':
                name = str(entry)
            elif path.parent == scripts:
                if path.name in generated:
                    continue
                name = f'{stem}.data/scripts/{path.name}'
                if data.startswith(b'#!') and b'python' in data.split(b'\n', 1)[0]:
                    data = b'#!python\n' + data.split(b'\n', 1)[1]
            elif path.is_relative_to(prefix):
                name = f'{stem}.data/data/{path.relative_to(prefix).as_posix()}'
            else:
                raise ValueError(f'{dist.metadata["Name"]}: {entry} lies outside {sys.prefix}')
            archive.writestr(zipfile.ZipInfo.from_file(path, name), data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=')
            record.append(f'{name},sha256={digest.decode()},{len(data)}')
        record.append(f'{info}/RECORD,,')
        archive.writestr(f'{info}/RECORD', '\n'.join(record) + '\n')
    return wheel


def link_into(dists: Iterable[Distribution], dest: Path) -> Path:
    """Symlink the top-level files and folders of ``dists`` into ``dest``.

    A ``.pth`` file naming ``dest`` then gives another environment these installed
    distributions (metadata included, so pip counts them as installed) without copying them.
    """
    dest.mkdir(parents=True, exist_ok=True)
    for dist in dists:
        site = Path(dist.locate_file(''))
        for top in {PurePosixPath(str(f)).parts[0] for f in dist.files} - {'..', '__pycache__'}:
            if not (dest / top).exists():
                (dest / top).symlink_to(site / top)
    return dest
