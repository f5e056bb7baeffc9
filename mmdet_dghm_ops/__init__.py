"""Torch implementations of the compiled mmcv ops that mmdet-dghm's detectors call.

mmdet imports ``mmcv.ops``, which loads the compiled extension ``mmcv._ext``. ``mmcv-lite`` (mmcv's
Python code without it) plus this package replace a compiled mmcv: ``finder`` serves
``mmcv._ext`` from ``mmcv_ext`` when no compiled extension is installed, and
``tools/setup_env.sh`` (``MMCV_OPS=torch``) installs the finder at interpreter start-up through a
``.pth`` file (``python -m mmdet_dghm_ops enable``).

The modules:

- ``nms``: greedy NMS returning the indices mmcv's kernel returns;
- ``focal_loss``: elementwise sigmoid focal loss of integer targets;
- ``roi_align``: RoIAlign (average pooling), differentiable with respect to the features;
- ``mmcv_ext``: mmcv's kernel contract on top of these (and mmcv's own torch multi-scale
  deformable attention); every other op raises :class:`MissingOpError` naming it;
- ``finder``: the ``sys.meta_path`` finder (imports nothing but the standard library, so the
  ``.pth`` line costs nothing at start-up);
- ``site_hook``: writes or removes the ``.pth`` file.

This ``__init__`` imports nothing, so the ``.pth`` file does not load torch at start-up.
"""
