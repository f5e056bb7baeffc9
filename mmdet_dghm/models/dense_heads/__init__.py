from .decoupled_atss_head import DecoupledATSSHead
from .decoupled_dino_head import DecoupledDINOHead
from .decoupled_fcos_head import DecoupledFCOSHead
from .decoupled_retina_head import DecoupledRetinaHead
from .decoupled_rpn_head import DecoupledRPNHead
from .decoupled_rtmdet_head import DecoupledRTMDetHead, DecoupledRTMDetSepBNHead
from .decoupled_yolox_head import DecoupledYOLOXHead

__all__ = [
    'DecoupledATSSHead', 'DecoupledDINOHead', 'DecoupledFCOSHead', 'DecoupledRetinaHead',
    'DecoupledRPNHead', 'DecoupledRTMDetHead', 'DecoupledRTMDetSepBNHead', 'DecoupledYOLOXHead'
]
