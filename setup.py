"""mmdet-dghm: DGHM-C, an MMDetection 3.x plugin for detectors trained on partially annotated data.

mmcv is deliberately NOT listed in ``install_requires``: PyPI carries only its source
distribution, and a plain ``pip install mmcv`` builds it in an isolated environment where its
setup.py cannot import torch, producing a pure-Python mmcv without the compiled ops
(``mmcv._ext``) that mmdet needs. ``tools/setup_env.sh`` installs mmcv 2.1.0 with its ops
(from a prebuilt wheel cache or a ``--no-build-isolation`` source build) before this package.
"""
import os
import re
import shutil
import sys
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
#: Shipped inside the package as ``mmdet_dghm/.mim/`` (OpenMMLab layout): ``mmdet_dghm::``
#: scoped configs and openmim's ``mim train/test mmdet_dghm`` find them in an installed wheel.
MIM_FILES = ('configs', 'model-index.yml', 'tools/train.py', 'tools/test.py', 'tools/infer.py',
             'tools/dist_train.sh', 'tools/slurm_train.sh', 'tools/dist_infer.sh',
             'tools/slurm_infer.sh', 'tools/export_detector.py', 'tools/pseudo_label.py',
             'tools/mark_partial.py')
BUILD_COMMANDS = ('bdist_wheel', 'sdist', 'build', 'build_py')
#: ``pip install -e`` runs ``editable_wheel`` (PEP 660), older pips ``develop``.
EDITABLE_COMMANDS = ('editable_wheel', 'develop')


def add_mim_extension() -> None:
    """Fill ``mmdet_dghm/.mim/`` with :data:`MIM_FILES`, as OpenMMLab's setup.py files do.

    A wheel or an sdist gets copies. An editable install gets symbolic links to the checkout's
    files (edits to ``configs/`` are live): ``mmdet_dghm::`` configs resolve in the package's
    own folder (:mod:`mmdet_dghm.utils.config_scope`), which an editable install leaves in the
    checkout. A build from an sdist, which carries ``.mim/`` but no top-level ``configs/``,
    keeps the copy it has.
    """
    if any(command in sys.argv for command in EDITABLE_COMMANDS):
        link = True
    elif any(command in sys.argv for command in BUILD_COMMANDS):
        link = False
    else:
        return
    if not (HERE / 'configs').is_dir():
        return
    mim = HERE / 'mmdet_dghm' / '.mim'
    shutil.rmtree(mim, ignore_errors=True)  # removes links, never what they point to
    for name in MIM_FILES:
        source, target = HERE / name, mim / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if link:
            target.symlink_to(os.path.relpath(source, target.parent))
        elif source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns('__pycache__'))
        else:
            shutil.copy2(source, target)

VERSION = re.search(r"__version__ = ['\"]([^'\"]+)['\"]",
                    (HERE / 'mmdet_dghm' / 'version.py').read_text()).group(1)

add_mim_extension()
setup(
    name='mmdet-dghm',
    version=VERSION,
    description='Decoupled Gradient Harmonizing Mechanism (DGHM-C) for MMDetection 3.x: '
                'object detection with partial annotation (signet ring cells, DigestPath2019)',
    long_description=(HERE / 'README.md').read_text(encoding='utf-8'),
    long_description_content_type='text/markdown',
    author='mmdet-dghm developers',
    license='Apache-2.0',
    python_requires='>=3.10',
    packages=find_packages(include=['mmdet_dghm', 'mmdet_dghm.*', 'mmdet_dghm_ops']),
    include_package_data=True,
    package_data={'mmdet_dghm': ['.mim/model-index.yml', '.mim/configs/**/*.py',
                                 '.mim/configs/**/*.md', '.mim/configs/**/*.yml',
                                 '.mim/tools/*']},
    install_requires=[
        'torch>=2.1',
        'mmdet==3.3.0',
        'mmengine>=0.10.0,<0.11',
        # mmengine 0.10.x resolves `mmdet::` config paths through pkg_resources, which
        # setuptools 82 dropped; torch 2.13 requires >=77.0.3.
        'setuptools>=77.0.3,<81',
        'numpy>=1.24',
        'pycocotools',
        'Pillow',
        'tifffile',
        'matplotlib',
        'tqdm',
    ],
    extras_require={
        'tests': ['pytest>=7', 'pytest-timeout', 'ruff>=0.6'],
        'wsi': ['openslide-python', 'openslide-bin'],
    },
    classifiers=[
        'Programming Language :: Python :: 3',
        'Topic :: Scientific/Engineering :: Artificial Intelligence',
        'Topic :: Scientific/Engineering :: Medical Science Apps.',
    ],
)
