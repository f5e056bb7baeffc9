from .brl_loss import BackgroundRecalibrationLoss, background_recalibration_loss
from .clean_only_loss import CleanOnlyLoss, clean_only_loss
from .dghm_loss import DGHMCLoss, dghmc_loss
from .pu_loss import PULoss, nnpu_loss, prior_from_missing_rate
from .sce_loss import SymmetricCELoss

__all__ = [
    'BackgroundRecalibrationLoss', 'background_recalibration_loss', 'CleanOnlyLoss',
    'clean_only_loss', 'DGHMCLoss', 'dghmc_loss', 'PULoss', 'nnpu_loss',
    'prior_from_missing_rate', 'SymmetricCELoss'
]
