"""The research harness around mmdet-dghm: loss benchmarks and their committed results.

Not part of the installed library: it lives in the repository beside ``tools/`` and reads the
repository's ``configs/``.
"""
