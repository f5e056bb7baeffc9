"""``python -m mmdet_dghm_ops {enable,disable,status} [--site-dir DIR]``.

``enable`` writes the ``.pth`` file that serves ``mmcv._ext`` from these torch ops where mmcv has
no compiled extension, ``disable`` removes it, ``status`` prints which ``mmcv._ext`` loads.
"""
import argparse

from mmdet_dghm_ops import site_hook


def status() -> str:
    """Where ``mmcv._ext`` comes from in this interpreter: ``compiled``, ``torch`` or ``none``."""
    import importlib.util
    try:
        spec = importlib.util.find_spec('mmcv._ext')
    except ModuleNotFoundError:  # no mmcv at all
        return 'none'
    if spec is None:
        return 'none'
    from mmdet_dghm_ops.finder import TorchExtFinder
    return 'torch' if isinstance(spec.loader, TorchExtFinder) else 'compiled'


def main() -> None:
    parser = argparse.ArgumentParser(prog='python -m mmdet_dghm_ops', description=__doc__)
    parser.add_argument('command', choices=['enable', 'disable', 'status'])
    parser.add_argument('--site-dir', help='site-packages folder (default: this environment)')
    args = parser.parse_args()
    if args.command == 'enable':
        print(f'wrote {site_hook.enable(args.site_dir)}')
    elif args.command == 'disable':
        removed = site_hook.disable(args.site_dir)
        print(f'removed {removed}' if removed else 'no .pth file to remove')
    else:
        print(f'mmcv._ext: {status()}')


if __name__ == '__main__':
    main()
