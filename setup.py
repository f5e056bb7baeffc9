"""mmdet-dghm: DGHM-C, an MMDetection 3.x plugin for detectors trained on partially annotated data.

mmcv is deliberately NOT listed in ``install_requires``: PyPI carries only its source
distribution, and a plain ``pip install mmcv`` builds it in an isolated environment where its
setup.py cannot import torch, producing a pure-Python mmcv without the compiled ops
(``mmcv._ext``) that mmdet needs. ``tools/setup_env.sh`` installs mmcv 2.1.0 with its ops
(from a prebuilt wheel cache or a ``--no-build-isolation`` source build) before this package.
"""
import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
VERSION = re.search(r'__version__ = "([^"]+)"',
                    (HERE / "mmdet_dghm" / "version.py").read_text()).group(1)

setup(
    name="mmdet-dghm",
    version=VERSION,
    description="Decoupled Gradient Harmonizing Mechanism (DGHM-C) for MMDetection 3.x: "
                "object detection with partial annotation (signet ring cells, DigestPath2019)",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    author="mmdet-dghm developers",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["mmdet_dghm", "mmdet_dghm.*", "mmdet_dghm_ops"]),
    include_package_data=True,
    install_requires=[
        "torch>=2.1",
        "mmdet==3.3.0",
        "mmengine>=0.10.0,<0.11",
        # mmengine 0.10.x resolves `mmdet::` config paths through pkg_resources, which
        # setuptools 82 dropped; torch 2.13 requires >=77.0.3.
        "setuptools>=77.0.3,<81",
        "numpy>=1.24",
        "pycocotools",
        "Pillow",
        "tifffile",
        "matplotlib",
        "tqdm",
    ],
    extras_require={
        "tests": ["pytest>=7", "pytest-timeout"],
        "wsi": ["openslide-python", "openslide-bin"],
    },
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
        "Topic :: Scientific/Engineering :: Medical Science Apps.",
    ],
)
