"""Draws ``partial_annotation.png``: the clean and noisy negatives of two synthetic images.

Run from the repository root after ``make setup``::

    python docs/figures/draw_partial_annotation.py

Left, a partially annotated image: 70% of its signet ring cells have no box (as in the
benchmark's Table 4 protocol), so the background there includes cells, the noisy negatives.
Right, an exhaustively annotated image without cells: every negative is clean.
"""
from pathlib import Path

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import Patch, Rectangle  # noqa: E402
from PIL import Image  # noqa: E402

from mmdet_dghm.datasets.missing import drop_mask  # noqa: E402
from mmdet_dghm.testing.synthetic import render_image, slide_style  # noqa: E402

OUT = Path(__file__).with_name('partial_annotation.png')
SIZE = (320, 320)
DROP_RATE = 0.7
KEPT, REMOVED = '#1b9e77', '#d95f02'


def main() -> None:
    stain, _ = slide_style(seed=3, positive=True, slide=0)
    partial, boxes = render_image(np.random.default_rng(11), SIZE, stain, positive=True,
                                  box_median=22.0, src_coverage=(0.12, 0.12))
    exhaustive, _ = render_image(np.random.default_rng(12), SIZE, stain, positive=False,
                                 box_median=22.0)
    removed = drop_mask(len(boxes), DROP_RATE, seed=0, key='overview')
    fig, axes = plt.subplots(1, 2, figsize=(7.2, 4.1), dpi=100)
    for ax, image, title in (
            (axes[0], partial, 'partially annotated image:\nnegatives may hide cells (noisy)'),
            (axes[1], exhaustive, 'exhaustively annotated image:\nevery negative is clean')):
        ax.imshow(image)
        ax.set_title(title, fontsize=10)
        ax.set_axis_off()
    for (x1, y1, x2, y2), gone in zip(boxes, removed):
        axes[0].add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, lw=1.6,
                                    ls='--' if gone else '-', ec=REMOVED if gone else KEPT))
    fig.legend(handles=[Patch(fc='none', ec=KEPT, lw=1.6, label='annotated cell (positive)'),
                        Patch(fc='none', ec=REMOVED, lw=1.6, ls='--',
                              label='cell without a box (trained as background)')],
               loc='lower center', ncol=2, fontsize=9, frameon=False)
    fig.subplots_adjust(left=0.01, right=0.99, top=0.87, bottom=0.09, wspace=0.04)
    fig.canvas.draw()
    # A 256-colour palette keeps the PNG small (the stain texture compresses badly in RGB).
    rgb = Image.fromarray(np.asarray(fig.canvas.buffer_rgba())[..., :3])
    rgb.quantize(256, method=Image.Quantize.MEDIANCUT).save(OUT, optimize=True)
    print(f'{OUT}: {len(boxes)} cells, {int(removed.sum())} without a box')


if __name__ == '__main__':
    main()
