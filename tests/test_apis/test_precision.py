"""--fp16: the backbone and neck in reduced precision, the rest (and the model after) in
float32."""
import torch
from torch import nn

from mmdet_dghm.apis import TiledDetector, half_precision_features


class TwoStage(nn.Module):
    """A feature extractor and a head, recording the dtypes each produced."""

    def __init__(self) -> None:
        super().__init__()
        self.backbone, self.head = nn.Conv2d(3, 4, 3), nn.Conv2d(4, 1, 1)
        self.seen = []

    def extract_feat(self, x):
        features = self.backbone(x)
        self.seen.append(('backbone', features.dtype))
        return (features, )

    def forward(self, x):
        features = self.extract_feat(x)
        self.seen.append(('features', features[0].dtype))
        out = self.head(features[0])
        self.seen.append(('head', out.dtype))
        return out


def test_features_in_bfloat16_head_in_float32_and_restored():
    model = TwoStage()
    x = torch.rand(1, 3, 8, 8)
    with half_precision_features(model, 'cpu'):
        out = model(x)
    assert model.seen == [('backbone', torch.bfloat16), ('features', torch.float32),
                          ('head', torch.float32)]
    assert out.dtype == torch.float32 and 'extract_feat' not in vars(model)
    model.seen.clear()
    model(x)
    assert model.seen == [('backbone', torch.float32), ('features', torch.float32),
                          ('head', torch.float32)]
    # The detector applies it only with fp16, and keeps float32 outputs.
    detector = TiledDetector(model, fp16=True)
    with detector._autocast():
        model(x)
    assert model.seen[-3] == ('backbone', torch.bfloat16)
    with TiledDetector(model)._autocast():
        model(x)
    assert model.seen[-3] == ('backbone', torch.float32)
