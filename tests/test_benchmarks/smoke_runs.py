"""The smoke benchmark runs the tool tests train: their arguments and run ids."""

#: Two runs (CE, DGHM-C) of two iterations at missing rate 0.5 on a tiny synthetic set.
SMOKE_ARGS = ['--profile', 'smoke', '--protocol', 'table4', '--losses', 'ce', 'dghmc',
              '--drop-rates', '0.5', '--seeds', '0', '--iters', '2', '--threads', '1',
              '--no-report']


def smoke_run_id(loss: str) -> str:
    """Run id (folder under ``runs/``) of the smoke run of ``loss``."""
    return f'smoke-iters2_table4_synthetic_drop0.50_fold0_{loss}_seed0'
