"""Cross-validation folds by slide (paper Sec. 4.2: 5 folds of about 16 positive and 72
negative images).

Tiles of one slide look alike, so folds split slides, never images, or validation leaks.
"""
import re
from typing import Dict, Mapping


def slide_id(file_name: str, pattern: str = r'^(.*?)-lv0-') -> str:
    """Slide of a DigestPath file: the first group of ``pattern``, else the stem itself.

    Args:
        file_name (str): Base name such as ``'2018_67247_1-4_...-lv0-11882-64596-2042-2032.jpeg'``.
        pattern (str): Regular expression whose first group is the slide id.

    Returns:
        str: The slide id (a name without the pattern is its own slide).
    """
    match = re.match(pattern, file_name)
    if match is None:
        return file_name.rsplit('.', 1)[0]
    return match.group(1)


def _balanced_assignment(counts: Mapping[str, int], num_folds: int) -> Dict[str, int]:
    # Largest slides first, each to the fold holding the fewest images so far (ties: lowest
    # fold): deterministic, and fold sizes differ by at most the largest slide.
    loads = [0] * num_folds
    folds = {}
    for slide in sorted(counts, key=lambda s: (-counts[s], s)):
        fold = min(range(num_folds), key=lambda f: (loads[f], f))
        folds[slide] = fold
        loads[fold] += counts[slide]
    return folds


def assign_slide_folds(pos_counts: Mapping[str, int], neg_counts: Mapping[str, int],
                       num_folds: int) -> Dict[str, int]:
    """Assign every slide to a fold, balancing positive and negative images separately.

    Args:
        pos_counts (Mapping[str, int]): Positive-image count per slide with any positive image.
        neg_counts (Mapping[str, int]): Negative-image count per slide; a slide that also has
            positive images follows its positive assignment.
        num_folds (int): Number of folds, >= 1.

    Returns:
        Dict[str, int]: Slide id -> fold index in ``[0, num_folds)``.

    Raises:
        ValueError: If ``num_folds < 1``.
    """
    if num_folds < 1:
        raise ValueError(f'num_folds={num_folds} must be >= 1')
    folds = _balanced_assignment(pos_counts, num_folds)
    negative_only = {s: n for s, n in neg_counts.items() if s not in folds}
    folds.update(_balanced_assignment(negative_only, num_folds))
    return folds
