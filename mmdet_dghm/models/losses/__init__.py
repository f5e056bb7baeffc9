from .dghm_loss import DGHMCLoss
from .sce_loss import SymmetricCELoss

__all__ = ['DGHMCLoss', 'SymmetricCELoss']
