"""DINOHead whose classification losses see the annotation status of each query."""
from mmdet.models.dense_heads import DINOHead
from mmdet.registry import MODELS

from ..partial_annotation import PartialAnnotationMixin


@MODELS.register_module()
class DecoupledDINOHead(PartialAnnotationMixin, DINOHead):
    """DINOHead whose classification losses see each (query, class) element's status.

    Same arguments, layers, matching, denoising, box losses and predictions as
    :class:`mmdet.models.dense_heads.DINOHead`. DINO calls its classification loss once per
    decoder layer for the matching queries, once for the encoder's proposals and once per
    decoder layer for the denoising queries (``loss_dn``); every call holds ``B * Q`` rows,
    image-major (``cls_scores.reshape(-1, C)`` of a (B, Q, C) tensor). A loss declaring
    ``partial`` (``DGHMCLoss``) gets each query the status of its image on every one of
    these calls (:class:`~mmdet_dghm.models.partial_annotation.PartialAnnotationMixin`):
    matched or unmatched, a query's negative for class c is noisy when class c is partial
    in its image; padded denoising queries are negatives of their image like any other.
    Hungarian matching (its own focal cost) is unchanged. Other losses run DINOHead's code
    unchanged.
    """
