"""``benchmarks/RESULTS.md`` and its figures: a function of the result records alone.

Every number comes from a run's ``result.json`` or its mmengine scalars log
(:mod:`benchmarks.harness.records`), or from a committed data record beside the report
(``loss_settings.json``, gradient-norm histograms' JSON); nothing here reads a recipe, builds a
model or imports torch, so ``python -m benchmarks.report`` rebuilds the report the same from
the same records. The report opens with its verdict (:mod:`.verdict`), then the tables
(:mod:`.tables`, :mod:`.convergence`, :mod:`.ablations`); each table's figures go to a folder
of their own under ``figures/`` (:mod:`.figures`).
"""
import json
import os
from collections import OrderedDict, defaultdict
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from .ablations import ablation_table, find_ablations, split_ablations
from .convergence import convergence_section
from .curves import read_eval_curves, read_loss_curve
from .figures import (
    figure_folders,
    loss_curves,
    new_figure,
    plot_learning_curves,
    plot_vs_missing_rate,
    save_figure,
)
from .loss_names import loss_label
from .records import ResultSet, group_results, load_records, recorded_profiles
from .tables import (
    CLAIM_METRICS,
    Groups,
    froc_truncated,
    grad_histogram_summary,
    measured,
    pivot_table,
    prior_gradient_table,
    profile_table,
    recipe_table,
    results_table,
)
from .verdict import claim_check, verdict_lines, verdict_table

#: The committed data record of what the report shows of the losses themselves.
LOSS_SETTINGS_FILE = 'loss_settings.json'


def _val_curve_text(val: Sequence[Tuple[int, float]]) -> str:
    """``'500: 0.022, 1000: 0.178'``: held-out FROC by iteration."""
    return ', '.join(f'{it}: {froc:.3f}' for it, froc in val)


def recipe_section(run_dirs: Sequence[Path], out_dir: Path, figures: bool = True) -> List[str]:
    """Learning evidence of recipe experiments (runs with intermediate evaluations, their
    ``spec.json``): a table of held-out FROC by iteration and a figure of their losses and
    FROC (``figures/recipes/learning_curves.png``)."""
    rows, curves = [], []
    for run_dir in run_dirs:
        spec_file = Path(run_dir) / 'spec.json'
        if not spec_file.is_file():
            continue
        record = json.loads(spec_file.read_text())
        spec, profile = record['spec'], record['profile']
        label = (f'{Path(run_dir).name}: {loss_label(spec["loss"])}, {spec["dataset"]}, '
                 f'missing {spec["drop_rate"]:.1f}')
        val = read_eval_curves(run_dir).get('digestpath/froc', [])
        curves.append((label, read_loss_curve(run_dir), val))
        rows.append(f'| {label} | Adam {profile["lr"]:g}, warm-up {profile["warmup_iters"]}, '
                    f'batch {profile["batch_size"]} x {profile["crop_size"]} px | '
                    f'{_val_curve_text(val)} |')
    if not rows:
        return []
    link = 'figures/recipes/learning_curves.png'
    if figures:
        fig = new_figure(10, 3.6)
        ax_loss, ax_froc = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
        for label, loss, val in curves:
            line, = ax_loss.plot(loss['iter'], loss['loss_cls'],
                                 label=label.split(':')[0] + ' cls')
            ax_loss.plot(loss['iter'], loss['loss_bbox'], linestyle='--', color=line.get_color())
            if val:
                ax_froc.plot(*zip(*val), marker='o', color=line.get_color(),
                             label=label.split(':')[0])
        ax_loss.set_yscale('log')
        ax_loss.set_xlabel('iteration')
        ax_loss.set_title('training loss (cls solid, bbox dashed)', fontsize=9)
        ax_froc.set_xlabel('iteration')
        ax_froc.set_title('held-out FROC', fontsize=9)
        ax_froc.set_ylim(0, 1)
        for ax in (ax_loss, ax_froc):
            ax.legend(fontsize=6)
            ax.grid(alpha=0.3)
        fig.tight_layout()
        save_figure(fig, out_dir / link)
    return (['## CPU recipe experiments (learning evidence)', '',
             'Short runs with intermediate held-out evaluations, used to choose the CPU '
             'profile (light model from scratch, trainable BatchNorm).', '',
             '| Run | Optimiser, batch | Held-out FROC at iteration |', '|---|---|---|']
            + rows + ['', f'![recipe learning curves]({link})', ''])


def _demote_headings(text: str) -> str:
    return '\n'.join('#' + line if line.startswith('#') else line
                     for line in text.strip().splitlines())


def _convergence_inputs(table_groups: Groups, ablation_groups: Groups,
                        ablations: Mapping[str, object], run_dirs: Mapping[str, Path]
                        ) -> Tuple[dict, dict]:
    """``(by_rate, curves)`` of :func:`convergence_section`: the table's runs by missing rate
    and loss, with the ablations of the table's profile as rows of their own (``DGHM-C,
    momentum 0.75``), and the evaluation curves of each run."""
    by_rate: Dict[float, Dict[str, List[dict]]] = defaultdict(OrderedDict)
    result_set = next(iter(table_groups)).result_set
    for group, runs in table_groups.items():
        by_rate[group.missing_rate][group.loss] = runs
    for group, runs in ablation_groups.items():
        ablation = ablations[group.profile]
        if ablation.recipe == result_set.profile and \
                group.result_set == result_set._replace(profile=group.profile):
            label = ', '.join([loss_label(group.loss)] + [
                f'{k.replace("_", " ")} {v[1]}' for k, v in ablation.changes.items()])
            by_rate[group.missing_rate][label] = runs
    curves = {r['run_id']: read_eval_curves(run_dirs[r['run_id']])
              for by_loss in by_rate.values() for runs in by_loss.values() for r in runs}
    return by_rate, curves


def report_lines(results: Sequence[dict], run_dirs: Mapping[str, Path], report_command: str,
                 out_dir: Optional[Path], *, sections: Sequence[Path] = (),
                 grad_histograms: Sequence[Path] = (), recipe_runs: Sequence[Path] = (),
                 loss_settings: Optional[Mapping[str, object]] = None) -> List[str]:
    """The lines of RESULTS.md; figures are drawn under ``out_dir/figures`` unless
    ``out_dir`` is None (the text is the same either way).

    Args:
        results (Sequence[dict]): The records (:func:`benchmarks.harness.records.
            load_records`).
        run_dirs (Mapping[str, Path]): Each record's folder by run id (its logs).
        report_command (str): The command that regenerates the report (written in it).
        out_dir (Path, optional): Where RESULTS.md goes: figures and links are relative to it.
        sections (Sequence[Path]): Markdown files included verbatim when they exist (the
            written analysis, the loss micro-benchmark, ...).
        grad_histograms (Sequence[Path]): Gradient-norm histogram PNGs (with their JSON).
        recipe_runs (Sequence[Path]): Run folders of recipe experiments
            (:func:`recipe_section`).
        loss_settings (Mapping, optional): ``loss_settings.json``: the gradients at the
            initial score and the ``DGHMCLoss`` defaults.
    """
    groups = group_results(results)
    # Ablation runs get their own section, beside the runs they change one setting of.
    main_groups, ablation_groups = split_ablations(groups)
    ablations = find_ablations(recorded_profiles(results))
    main_results = [r for runs in main_groups.values() for r in runs]
    lines = ['# Benchmark results: paper Tables 3 and 4 on our data', '',
             f'Generated by `{report_command}` from {len(results)} result files; '
             'do not edit by hand (rerun the command).', '']
    verdict = verdict_lines(main_groups)
    lines += verdict + [''] if verdict else []
    lines += ['Every run of a table uses the same data, seed, schedule and model; only the '
              'classification loss differs. Metrics (paper section 4.3): Precision, Recall at '
              "the metric's operating score threshold (in the table headers) on the held-out "
              'fold (by slide) with *complete* boxes, NFPs = '
              'max(100 - W, 0) with W the false positives per normal image (eq. 15, higher is '
              'better), FROC = mean recall at 1, 2, 4, 8, 16, 32 FPs per '
              'normal image over every detection, and Recall @1 / @8 FP the recall at 1 and 8 '
              'false positives per normal image (both independent of any score threshold; a '
              "table notes runs whose ranking stopped before 32 false positives, the model's "
              'test-time `score_thr` or `max_per_img` cutting it). R-recall / T-recall: recall '
              'of the removed / kept boxes on the positive training images at the operating '
              'threshold (paper section 4.6); R-recall @1 / @8 FP/img: recall of the removed '
              'boxes at 1 and 8 false positives per positive training image (predictions '
              'matching neither a kept nor a removed box), threshold-free like FROC. Values '
              'are mean ± sample std over the seeds (and folds) run.', '']
    by_table: Dict[ResultSet, Groups] = defaultdict(OrderedDict)
    for group, runs in main_groups.items():
        by_table[group.result_set][group] = runs
    folders = figure_folders(sorted(by_table))
    for result_set, table_groups in sorted(by_table.items()):
        profile, protocol, dataset = result_set
        link_dir = f'figures/{folders[result_set]}'
        figure_dir = out_dir / link_dir if out_dir is not None else None
        machines = sorted({f'{r["machine"]["device"]}' for g in table_groups.values()
                           for r in g})
        title = ('Table 3 protocol (natural partial annotation)' if protocol == 'table3'
                 else 'Table 4 protocol (controlled missing rate)')
        lines += [f'## {title}: {dataset} data, profile `{profile}`', '',
                  f'Device: {", ".join(machines)}.', '']
        lines += results_table(table_groups, protocol) + ['']
        runs = [r for group in table_groups.values() for r in group]
        if any(map(froc_truncated, runs)):
            lines += [f'FROC and Recall @FP are truncated in {sum(map(froc_truncated, runs))} '
                      f'of {len(runs)} runs: their ranking stops before 32 false positives per '
                      "normal image (the model's test-time `score_thr` or `max_per_img` cut "
                      'it; `python -m benchmarks --reevaluate` re-scores runs that kept their '
                      'checkpoint).', '']
        if protocol == 'table4':
            claim_metrics = [m for m in CLAIM_METRICS if measured(runs, *m[1:])]
            for label, source, key in claim_metrics:
                lines += [f'Mean {label} by missing rate (best in bold):', '']
                lines += pivot_table(table_groups, source, key) + ['']
            for label, source, key in claim_metrics:
                name = f'{key.replace("@", "_at_")}_vs_missing.png'
                if figure_dir is not None:
                    plot_vs_missing_rate(table_groups, source, key,
                                         f'{label} ({dataset}, {profile})', figure_dir / name)
                lines += [f'![{label} vs missing rate]({link_dir}/{name})', '']
        curves = loss_curves(table_groups, run_dirs)
        if curves:
            if figure_dir is not None:
                plot_learning_curves(curves, figure_dir / 'learning_curves.png',
                                     f'training losses ({protocol}, {dataset}, {profile})')
            lines += [f'![learning curves]({link_dir}/learning_curves.png)', '']
        lines += convergence_section(
            *_convergence_inputs(table_groups, ablation_groups, ablations, run_dirs),
            figure_dir, link_dir, f'{protocol}, {dataset}, {profile}')
    checks = claim_check(main_groups)
    if checks:
        lines += ["## The paper's claim, checked", '',
                  'Paper: DGHM-C beats GHM-C, focal, CE and SCE on FROC and R-recall, most at '
                  'high missing rates. Measured (means over seeds; "paired runs": in how many '
                  'runs with the same seed and fold DGHM-C scored higher than that loss):', '']
        lines += checks + ['']
    verdicts = verdict_table(main_groups)
    if verdicts:
        lines += ['## Verdict per claim of the paper', '',
                  'DGHM-C minus each baseline on runs with the same seed and fold: mean '
                  'difference [95 % percentile bootstrap interval, seed 0], paired wins, exact '
                  'sign test; "not distinguishable" when the interval holds 0 or fewer than 5 '
                  'pairs exist.', ''] + verdicts + ['']
    defaults = (loss_settings or {}).get('dghmc_defaults', {})
    ablation_lines = ablation_table(groups, defaults)
    if ablation_lines:
        lines += ['## Ablations', '',
                  f'{sum(map(len, ablation_groups.values()))} runs that change one setting of '
                  'a profile (`--cls-loss-mode`, `--density`, `--mu-noisy`, `--mu-clean`, '
                  '`--pu-missing-rate`, `--momentum`, `--batch-size`), each beside the runs '
                  'that differ from it in that setting alone: means over the pairs (same '
                  'seed and fold) both ran, and the paired '
                  'difference changed minus reference [95 % bootstrap interval], wins, and '
                  '"not distinguishable" when the interval holds 0 or fewer than 5 pairs '
                  'exist.', ''] + ablation_lines + ['']
    lines += ["## Our recipe vs the paper's", ''] + recipe_table(main_results or results) + ['']
    grad_histograms = sorted(grad_histograms)  # one order whether computed or found
    if grad_histograms:
        lines += ['## Gradient-norm histograms (paper figures 3 and 6)', '',
                  'g = |sigmoid(x) - t| of every valid anchor of the training tiles, split into '
                  'positives (AP_P), negatives of partially annotated images (AP_N) and '
                  'negatives of normal images (NP_N).', '']
        base = out_dir if out_dir is not None else Path.cwd()
        lines += [f'![{p.stem}]({Path(os.path.relpath(p, base)).as_posix()})'
                  for p in grad_histograms] + ['']
        records = [(p.stem.replace('grad_hist_', ''), json.loads(p.with_suffix('.json')
                                                                 .read_text()))
                   for p in grad_histograms if p.with_suffix('.json').is_file()]
        if records:
            lines += ["Share of each group's anchors by gradient norm (from the histograms' "
                      'JSON files):', ''] + grad_histogram_summary(records) + ['']
    if loss_settings is not None:
        lines += ['## Gradient at the initial score', '',
                  f'RetinaHead starts every anchor at p = {loss_settings["prior"]:g}. |dL/dx| of '
                  'one positive and one negative element at that score, computed with autograd '
                  "from the committed configs' loss settings (GHM-C and DGHM-C are left out: "
                  "their weights depend on the batch's gradient density; "
                  f'`{LOSS_SETTINGS_FILE}`, written by `{loss_settings["command"]}`):', '']
        lines += prior_gradient_table(loss_settings) + ['']
    lines += recipe_section(recipe_runs, out_dir or Path('.'), figures=out_dir is not None)
    lines += ['## Profiles', ''] + profile_table(results) + ['']
    machines = OrderedDict()
    for result in results:
        m = result['machine']
        machines[(m['cpu'], m['cores'], m['torch'], m['device'])] = m
    lines += ['## Machines', '']
    lines += [f'- {m["cpu"]}, {m["cores"]} cores, torch {m["torch"]} '
              f'({m["torch_threads"]} threads), device {m["device"]}, Python {m["python"]}'
              for m in machines.values()] + ['']
    lines += ['## Commands', '', '```']
    lines += list(OrderedDict.fromkeys(r['command'] for r in results))
    lines += [report_command, '```', '']
    for section in sections:
        if Path(section).is_file():
            lines += [_demote_headings(Path(section).read_text()), '']
    return lines


def write_report(work_dirs: Sequence[Path], out_dir: Path, report_command: str, *,
                 sections: Sequence[Path] = (), grad_histograms: Sequence[Path] = (),
                 recipe_runs: Sequence[Path] = (), loss_settings: Optional[Path] = None,
                 figures: bool = True) -> Path:
    """Aggregate every record under ``work_dirs`` into ``out_dir/RESULTS.md`` and its figures.

    Args:
        work_dirs (Sequence[Path]): Folders of run records (``result.json`` and logs).
        out_dir (Path): Destination of RESULTS.md and ``figures/``.
        report_command (str): The command that regenerates the report (written in it).
        sections, grad_histograms, recipe_runs: See :func:`report_lines`.
        loss_settings (Path, optional): ``loss_settings.json`` (its section is left out
            without it).
        figures (bool): Draw the figures (False writes the same RESULTS.md without them).

    Returns:
        Path: The written RESULTS.md.

    Raises:
        FileNotFoundError: When no record exists under ``work_dirs``.
        ValueError: Naming the file, for a record the report cannot read.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    results, run_dirs = load_records(work_dirs)
    settings = (json.loads(Path(loss_settings).read_text())
                if loss_settings is not None else None)
    lines = report_lines(results, run_dirs, report_command, out_dir if figures else None,
                         sections=sections, grad_histograms=grad_histograms,
                         recipe_runs=recipe_runs, loss_settings=settings)
    path = out_dir / 'RESULTS.md'
    path.write_text('\n'.join(lines))
    return path

