from .decoupled_retina_head import DecoupledRetinaHead

__all__ = ['DecoupledRetinaHead']
