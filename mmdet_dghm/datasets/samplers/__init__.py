from .pos_neg_batch_sampler import PosNegBatchSampler

__all__ = ['PosNegBatchSampler']
