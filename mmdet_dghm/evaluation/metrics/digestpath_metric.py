"""``DigestPathMetric``: the challenge's recall, precision, NFPs and FROC for mmengine."""
import json
import os.path as osp
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from mmdet.registry import METRICS
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger
from mmengine.utils import mkdir_or_exist

from ...structures import merge_tile_predictions
from ...structures.annotation_status import PARTIAL_KEY
from .digestpath_eval import (
    FALSE_POSITIVE,
    FROC_FPS,
    RECALL_FPS,
    ImageDetections,
    MatchedDetections,
    froc_curve,
    match_images,
    summarize_matches,
)


def _numpy(value) -> np.ndarray:
    """A tensor or array-like as a CPU numpy array (results must pickle across ranks)."""
    if hasattr(value, 'detach'):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


@METRICS.register_module()
class DigestPathMetric(BaseMetric):
    """DigestPath2019 evaluation (paper section 4.3, eq. 13-16, and Table 4's R/T-recall).

    Samples are whole images or tiles of them. The tiles of one source image (grouped by the
    ``src_img_path`` metainfo, else ``img_path``) are shifted by their ``tile_origin`` and
    merged by NMS; then each whole image is matched greedily against its ground truth. The
    ground truth is the ``src_gt_bboxes`` (and ``src_removed_bboxes``) metainfo when present,
    else the sample's ``gt_instances`` (a tiled image needs the former: tiles cut boxes apart).
    Normal images are those with ``partially_annotated`` False and no boxes. The dataset has
    one class (``ring_cell_cancer``), so predictions are pooled whatever their label.

    FROC and ``recall@<f>fp`` depend on the ranking of the scores only, provided every
    prediction down to ``max(froc_fps)`` false positives per normal image reaches the metric:
    the model's ``test_cfg.score_thr`` must not cut them (0, or a value below 1e-4) and its
    ``max_per_img`` must keep enough of them. ``froc_complete`` (1.0 / 0.0) says whether the
    curve got there; when it did not, a warning names the settings to change. Recall,
    precision and NFPs are taken at the operating threshold ``score_thr``, reported as the
    ``score_thr`` key.

    Args:
        iou_thr (float): Lowest IoU of a match. Defaults to 0.3, as the challenge.
        score_thr (float): Score threshold of recall, precision and NFPs. Defaults to 0.5.
        nms_iou_thr (float): IoU threshold of the NMS merging tiles. Defaults to 0.5.
        froc_fps (Sequence[float]): Predictions per normal image at which FROC averages
            recall. Defaults to (1, 2, 4, 8, 16, 32).
        recall_fps (Sequence[float]): Predictions per normal image of the threshold-free
            recalls ``recall@<f>fp``. Defaults to (1, 8).
        outfile_prefix (str, optional): When set, writes ``<prefix>froc.png`` (the FROC
            curve) and ``<prefix>predictions.json`` (merged predictions per image).
            Defaults to None.
        collect_device (str): 'cpu' or 'gpu', where ranks gather results. Defaults to 'cpu'.
        prefix (str, optional): Prefix of the metric names. Defaults to 'digestpath'.
    """
    default_prefix: Optional[str] = 'digestpath'

    def __init__(self,
                 iou_thr: float = 0.3,
                 score_thr: float = 0.5,
                 nms_iou_thr: float = 0.5,
                 froc_fps: Sequence[float] = FROC_FPS,
                 recall_fps: Sequence[float] = RECALL_FPS,
                 outfile_prefix: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        for name, value in (('iou_thr', iou_thr), ('nms_iou_thr', nms_iou_thr)):
            if not 0 < value <= 1:
                raise ValueError(f'DigestPathMetric: {name} must be in (0, 1], got {value}')
        if len(froc_fps) == 0:
            raise ValueError('DigestPathMetric: froc_fps must not be empty')
        self.iou_thr = iou_thr
        self.score_thr = score_thr
        self.nms_iou_thr = nms_iou_thr
        self.froc_fps = tuple(froc_fps)
        self.recall_fps = tuple(recall_fps)
        self.outfile_prefix = outfile_prefix

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Store each sample's predictions, placement and ground truth as numpy.

        Args:
            data_batch (dict): The batch from the dataloader (unused).
            data_samples (Sequence[dict]): Data samples (as dicts) with ``pred_instances``.
        """
        for sample in data_samples:
            img_path = sample.get('src_img_path', sample.get('img_path'))
            if img_path is None:
                raise KeyError('DigestPathMetric: a data sample has neither src_img_path nor '
                               'img_path in its metainfo; images cannot be grouped')
            if PARTIAL_KEY not in sample:
                raise KeyError(f'DigestPathMetric: data sample of {img_path} lacks the '
                               '`partially_annotated` metainfo; add it to PackDetInputs '
                               'meta_keys')
            origin = np.asarray(sample.get('tile_origin', (0, 0)), dtype=np.float32)
            pred = sample['pred_instances']
            result = dict(
                img_path=str(img_path),
                tile_origin=origin,
                bboxes=_numpy(pred['bboxes']).astype(np.float32).reshape(-1, 4),
                scores=_numpy(pred['scores']).astype(np.float32).reshape(-1),
                partially_annotated=bool(sample[PARTIAL_KEY]))
            if 'src_gt_bboxes' in sample:
                result['gt_bboxes'] = _numpy(sample['src_gt_bboxes']).reshape(-1, 4)
                result['removed_bboxes'] = _numpy(
                    sample.get('src_removed_bboxes', np.zeros((0, 4)))).reshape(-1, 4)
                result['gt_is_source'] = True
            else:
                # mmdet packs ignored boxes into `ignored_instances`; gt_instances holds the
                # evaluated ones only.
                gt = sample.get('gt_instances', {}).get('bboxes', np.zeros((0, 4)))
                result['gt_bboxes'] = _numpy(gt).reshape(-1, 4) + np.tile(origin, 2)
                result['removed_bboxes'] = np.zeros((0, 4), dtype=np.float32)
                result['gt_is_source'] = False
            self.results.append(result)

    def _merge_image(self, img_path: str, tiles: List[dict]) -> ImageDetections:
        """One whole image from its samples: tiles merged, ground truth checked."""
        flags = {tile[PARTIAL_KEY] for tile in tiles}
        if len(flags) > 1:
            raise ValueError(f'DigestPathMetric: the tiles of {img_path} disagree on '
                             '`partially_annotated`')
        if len(tiles) > 1 and not all(tile['gt_is_source'] for tile in tiles):
            raise ValueError(
                f'DigestPathMetric: {img_path} is split over {len(tiles)} samples but not all '
                'carry `src_gt_bboxes`; tiles cut and duplicate boxes, so the whole-image '
                'ground truth (DigestPathDataset test mode) is needed')
        bboxes, scores = merge_tile_predictions(
            [tile['bboxes'] for tile in tiles], [tile['scores'] for tile in tiles],
            [tile['tile_origin'] for tile in tiles], self.nms_iou_thr)
        return ImageDetections(
            bboxes=bboxes,
            scores=scores,
            gt_bboxes=tiles[0]['gt_bboxes'],
            removed_bboxes=tiles[0]['removed_bboxes'],
            partially_annotated=flags.pop())

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Group the samples by image, merge tiles, and compute eq. 13-16.

        Args:
            results (list): The ``process`` outputs of all ranks.

        Returns:
            Dict[str, float]: recall, precision, nfps, froc, froc_complete, recall@<f>fp
            (r_recall, t_recall when removed boxes exist), num_pos_images, num_normal_images,
            score_thr.
        """
        logger = MMLogger.get_current_instance()
        groups: Dict[str, List[dict]] = OrderedDict()
        for result in results:
            groups.setdefault(result['img_path'], []).append(result)
        paths = list(groups)
        images = [self._merge_image(path, groups[path]) for path in paths]
        matched = match_images(images, self.iou_thr)
        metrics = summarize_matches(matched, self.score_thr, self.froc_fps, self.recall_fps)
        metrics['score_thr'] = float(self.score_thr)
        if metrics['froc_complete'] == 0.0:
            logger.warning(
                f'DigestPathMetric: the FROC curve stops before {max(self.froc_fps):g} '
                'predictions per normal image, so FROC and recall@<f>fp are truncated by the '
                'output of the model, not measured on its ranking; lower '
                '`model.test_cfg.score_thr` (to 0) or raise `model.test_cfg.max_per_img`')
        logger.info('DigestPath: ' + ', '.join(f'{k}={v:.4f}' if isinstance(v, float)
                                                else f'{k}={v}' for k, v in metrics.items()))
        if self.outfile_prefix is not None:
            self._write_outputs(paths, images, matched, metrics['froc'], logger)
        return metrics

    def _write_outputs(self, paths: List[str], images: List[ImageDetections],
                       matched: MatchedDetections,
                       froc: float, logger: MMLogger) -> None:
        """Write ``<prefix>predictions.json`` and, when FROC is defined, ``<prefix>froc.png``."""
        prefix = self.outfile_prefix
        mkdir_or_exist(osp.dirname(osp.abspath(prefix + 'x')))
        records = [
            dict(img_path=path, partially_annotated=image.partially_annotated,
                 num_gt=image.num_gt, bboxes=np.asarray(image.bboxes).round(2).tolist(),
                 # float32 as the model scores: rounding would tie tiny scores (a loss
                 # scoring everything below 1e-5 still ranks them) and change FROC.
                 scores=np.asarray(image.scores, dtype=np.float32).tolist())
            for path, image in zip(paths, images)
        ]
        with open(prefix + 'predictions.json', 'w', encoding='utf-8') as f:
            json.dump(records, f)
        if matched.num_gt == 0 or matched.num_normal_images == 0:
            logger.warning('DigestPathMetric: no FROC curve written, it needs positive and '
                           f'normal images (got {matched.num_pos_images} and '
                           f'{matched.num_normal_images})')
            return
        _, nrfp, recall = froc_curve(matched.pos_scores, matched.pos_kinds != FALSE_POSITIVE,
                                     matched.num_gt, matched.normal_scores,
                                     matched.num_normal_images)
        # A figure bound to its own Agg canvas leaves pyplot's global backend untouched.
        fig = Figure(figsize=(5, 4), dpi=100)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        # Thresholds ascend, so the curve runs from many FPs to few; prepend (0, 0): no output.
        ax.step(np.r_[0.0, nrfp[::-1]], np.r_[0.0, recall[::-1]], where='post')
        for fps in self.froc_fps:
            ax.axvline(fps, color='grey', linewidth=0.5, linestyle=':')
        ax.set_xscale('symlog', linthresh=1.0)
        ax.set_xlim(0, max(float(nrfp.max(initial=0.0)), max(self.froc_fps)) * 1.2)
        ax.set_xlabel('mean predictions per normal image (NRFP)')
        ax.set_ylabel('recall')
        ax.set_ylim(0, 1.02)
        ax.set_title(f'FROC = {froc:.4f}')
        fig.tight_layout()
        fig.savefig(prefix + 'froc.png')
