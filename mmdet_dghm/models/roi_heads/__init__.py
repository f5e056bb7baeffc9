from .decoupled_cascade_roi_head import DecoupledCascadeRoIHead
from .decoupled_standard_roi_head import DecoupledStandardRoIHead

__all__ = ['DecoupledCascadeRoIHead', 'DecoupledStandardRoIHead']
