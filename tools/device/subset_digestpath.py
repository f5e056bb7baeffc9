"""Copy a DigestPath split small enough to carry to an air-gapped GPU server (a few tens of MiB).

Every positive image with its XML, and the negative images of every ``--neg-slide-every``-th
negative slide (whole slides, sorted by id, so folds still split slides). Positive folds do not
depend on the negatives (``assign_slide_folds``), so fold k's positive images are the same as
on the full split; its NFPs are counted on fewer negative images.

    python tools/device/subset_digestpath.py $DIGESTPATH_ROOT/half-scale .gpu_data/half-scale
"""
import argparse
import shutil
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from mmdet_dghm.datasets.digestpath_layout import NEG_DIR, POS_DIR  # noqa: E402
from mmdet_dghm.datasets.folds import slide_id  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('src', type=Path, help='split with sig-train-pos/ and sig-train-neg/')
    p.add_argument('dst', type=Path, help='new folder (replaced when it exists)')
    p.add_argument('--neg-slide-every', type=int, default=4,
                   help='keep the negatives of every k-th negative slide (default 4)')
    args = p.parse_args()
    for name in (POS_DIR, NEG_DIR):
        if not (args.src / name).is_dir():
            sys.exit(f'subset_digestpath: {args.src / name} is not a folder')
    if args.neg_slide_every < 1:
        sys.exit('subset_digestpath: --neg-slide-every must be >= 1')
    if args.dst.exists():
        shutil.rmtree(args.dst)
    (args.dst / POS_DIR).mkdir(parents=True)
    (args.dst / NEG_DIR).mkdir(parents=True)
    positives = sorted((args.src / POS_DIR).glob('*.jpeg'))
    for image in positives:
        xml = image.with_suffix('.xml')
        if not xml.is_file():
            sys.exit(f'subset_digestpath: positive image {image} has no XML {xml.name}')
        shutil.copy2(image, args.dst / POS_DIR)
        shutil.copy2(xml, args.dst / POS_DIR)
    by_slide = defaultdict(list)
    for image in sorted((args.src / NEG_DIR).glob('*.jpeg')):
        by_slide[slide_id(image.name)].append(image)
    kept = sorted(by_slide)[::args.neg_slide_every]
    negatives = [image for slide in kept for image in by_slide[slide]]
    for image in negatives:
        shutil.copy2(image, args.dst / NEG_DIR)
    size = sum(f.stat().st_size for f in args.dst.rglob('*') if f.is_file())
    print(f'{args.dst}: {len(positives)} positive images, {len(negatives)} negative images '
          f'of {len(kept)}/{len(by_slide)} slides, {size / 2**20:.1f} MiB')


if __name__ == '__main__':
    main()
