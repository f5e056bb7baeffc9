"""The research harness around mmdet-dghm: the loss comparison, the measurements, their results.

Not part of the installed library: it lives in the repository and reads the repository's
``configs/``. Run from the repository root: ``python -m benchmarks`` is the loss comparison of
the paper's Tables 3 and 4 (:mod:`benchmarks.run`), ``python -m benchmarks.report`` its
``RESULTS.md`` from the run records alone, ``python -m benchmarks.<name>`` each
measurement (``head_cost``, ``inference_overhead``, ``loss_benchmark``, ``torch_ops``,
``density_scaling``, ``grad_histogram``, ``seam_merging``, ``mixed_labels``, ``cpu_matrix``,
``partial_teacher``, ``loss_settings``);
each writes its result file here, beside the others.
"""
