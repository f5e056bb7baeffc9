"""Hand-made benchmark records in the form the report reads (``result.json`` of a run)."""
import json
from pathlib import Path
from typing import Optional

NAN = float('nan')


def profile(name: str = 'p', **changes) -> dict:
    """A recorded profile: the fields the report reads, with ``changes`` applied."""
    return dict(dict(name=name, variant='r18-light', iters=100, batch_size=4, pos_fraction=0.25,
                     crop_size=256, train_tile=512, lr=1e-3, val_interval=0, pretrained=False,
                     real_scale=1.0, syn_scale=0.5, cls_loss_mode='all_levels', density='paper',
                     momentum=None), **changes)


def record(loss: str, seed: int, froc: float, *, rate: float = 0.7, fold: int = 0,
           protocol: Optional[str] = None, dataset: str = 'synthetic', r_recall: float = NAN,
           r8: float = NAN, recall: float = 0.5, froc_complete: float = 1.0,
           prof: Optional[dict] = None) -> dict:
    """One run's record: ``froc`` on the held-out fold, R-recall (``r_recall``, ``r8`` at 8
    FP/img) on the training images; table 4 when ``rate`` > 0 unless ``protocol`` says."""
    prof = prof or profile()
    protocol = protocol or ('table4' if rate else 'table3')
    return dict(
        run_id=f'{prof["name"]}_{protocol}_{dataset}_{rate}_{fold}_{loss}_{seed}',
        spec=dict(protocol=protocol, dataset=dataset, loss=loss, drop_rate=rate, fold=fold,
                  seed=seed, profile=prof['name']),
        profile=prof,
        metrics={'digestpath/froc': froc, 'digestpath/froc_complete': froc_complete,
                 'digestpath/score_thr': 0.5, 'digestpath/recall': recall},
        train_metrics={'digestpath/r_recall': r_recall, 'digestpath/r_recall@8fp': r8},
        test_cfg=dict(score_thr=0.0, max_per_img=500),
        machine=dict(cpu='AMD EPYC', cores=2, torch='2.13.0', torch_threads=1, device='cpu',
                     python='3.11'),
        command='python -m benchmarks', train_time_s=10.0)


def write(work: Path, result: dict) -> Path:
    """Write ``result`` as ``work/<run_id>/result.json``; returns the file."""
    path = work / result['run_id'] / 'result.json'
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result))
    return path
