"""The loss-comparison benchmark (paper Tables 3 and 4): profiles, runs, matrix, report and
gradient-norm histograms, behind ``python -m benchmarks`` and the measurements beside it (the
demo borrows its config helpers); it registers nothing.

The package imports none of its modules: the report's (records, report, convergence,
ablations, curves, paired statistics) read no recipe and import no model code, which the run
tools' (profiles, runs, matrix) do.
"""
