"""Mark which images and classes of a COCO json are partially annotated.

Writes the fields ``PartialCocoDataset`` reads (``partially_annotated``, ``partial_category_ids``)
into a copy of the json; images left unmarked stay exhaustively annotated.

Examples::

    # every image may miss objects of every class
    python tools/mark_partial.py train.json --out train_partial.json
    # only these images (ids or file names; or one per line in a file with --image-list)
    python tools/mark_partial.py train.json --out train_partial.json --images 12 000042.jpg
    # a label set merged from sources: 'car' was never annotated in these images
    python tools/mark_partial.py train.json --out train_partial.json \
        --image-list from_pedestrian_set.txt --categories car
"""
import argparse
import json
from pathlib import Path
from typing import List, Optional

from mmdet_dghm.apis.coco_status import mark_partial, resolve_images


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Mark images and classes of a COCO json as '
                                     'partially annotated (mmdet-dghm)')
    parser.add_argument('ann_file', help='the COCO json')
    parser.add_argument('--out', required=True, help='the marked json to write')
    parser.add_argument('--images', nargs='+', help='image ids or file names (default: all)')
    parser.add_argument('--image-list', help='a text file of image ids or file names, one per '
                        'line')
    parser.add_argument('--categories', nargs='+', help='category names partial in those '
                        'images (default: every category)')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    coco = json.loads(Path(args.ann_file).read_text())
    names = list(args.images or [])
    if args.image_list:
        names += [line.strip() for line in Path(args.image_list).read_text().splitlines()
                  if line.strip()]
    image_ids = resolve_images(coco, names, args.ann_file) if names else None
    marked = mark_partial(coco, image_ids, args.categories, args.ann_file)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(marked))
    count = len(coco['images']) if image_ids is None else len(set(image_ids))
    what = 'every class' if not args.categories else ', '.join(args.categories)
    print(f'{args.out}: {count} of {len(coco["images"])} images partial in {what}')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
