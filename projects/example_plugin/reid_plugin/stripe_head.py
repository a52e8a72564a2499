"""A head registered from outside the package, through ``custom_imports``."""
from typing import List, Optional, Tuple

import torch
from torch import Tensor

from mmreidparts.models.heads import BNNeckHead
from mmreidparts.registry import MODELS
from mmreidparts.structures import ReIDDataSample


@MODELS.register_module()
class StripeBNNeckHead(BNNeckHead):
    """BoT's BNNeck head whose prediction adds ``num_stripes`` horizontal stripe embeddings.

    Training is BoT's. At test time the embeddings are the BN'd global feature followed
    by the average of each horizontal stripe of the feature map (all visible), so the
    evaluator averages their distances: a part-based prediction in a dozen lines.
    """

    def __init__(self, num_stripes: int = 2, **kwargs) -> None:
        super().__init__(**kwargs)
        self.num_stripes = num_stripes

    def predict(self, feats: Tuple[Tensor, ...],
                data_samples: Optional[List[ReIDDataSample]] = None) -> List[ReIDDataSample]:
        """Embeddings ``[1 + num_stripes, C]`` named ('global', 'stripe1', ...)."""
        x = feats[self.in_index]  # [N, C, H, W]
        if x.shape[2] < self.num_stripes:
            raise ValueError(f'a feature map of height {x.shape[2]} cannot be cut into '
                             f'{self.num_stripes} stripes')
        _, bn_feat = self.pre_logits(feats)  # [N, C]
        stripes = [s.mean(dim=(2, 3)) for s in x.tensor_split(self.num_stripes, dim=2)]
        emb = torch.stack([bn_feat] + stripes, dim=1)  # [N, 1 + S, C]
        names = ('global', ) + tuple(f'stripe{i + 1}' for i in range(self.num_stripes))
        if data_samples is None:
            data_samples = [ReIDDataSample() for _ in range(emb.shape[0])]
        for sample, rows in zip(data_samples, emb):
            sample.set_prediction(rows.detach(), rows.new_ones(rows.shape[0]), names)
        return data_samples
