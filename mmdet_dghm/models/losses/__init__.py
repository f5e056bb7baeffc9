from .dghm_loss import DGHMCLoss, dghmc_loss
from .sce_loss import SymmetricCELoss

__all__ = ['DGHMCLoss', 'dghmc_loss', 'SymmetricCELoss']
