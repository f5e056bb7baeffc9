"""``python -m mmdet_dghm``: the plugin's version and what it registers into mmdet."""
import mmcv
import mmdet
import torch
from mmdet.registry import DATA_SAMPLERS, DATASETS, METRICS, MODELS, TRANSFORMS

import mmdet_dghm


def registered_modules() -> dict[str, list[str]]:
    """Names each mmdet registry holds from ``mmdet_dghm``, by registry."""
    registries = dict(models=MODELS, datasets=DATASETS, transforms=TRANSFORMS,
                      data_samplers=DATA_SAMPLERS, metrics=METRICS)
    return {name: sorted(key for key, cls in reg.module_dict.items()
                         if cls.__module__.startswith('mmdet_dghm'))
            for name, reg in registries.items()}


def main() -> None:
    print(f'mmdet_dghm {mmdet_dghm.__version__} (mmdet {mmdet.__version__}, '
          f'mmcv {mmcv.__version__}, torch {torch.__version__}, '
          f'cuda {torch.cuda.is_available()})')
    for registry, names in registered_modules().items():
        print(f'  {registry}: {", ".join(names) or "-"}')


if __name__ == '__main__':
    main()
