"""A head registered from outside the package, through ``custom_imports``."""
from typing import List, Optional, Tuple

import torch
from torch import Tensor

from mmreidparts.models.heads import BNNeckHead
from mmreidparts.registry import MODELS
from mmreidparts.structures import ReIDDataSample, fill_predictions


@MODELS.register_module()
class StripeBNNeckHead(BNNeckHead):
    """BoT's BNNeck head whose prediction adds ``num_stripes`` horizontal stripe embeddings.

    Training is BoT's. At test time the embeddings are the BN'd global feature followed
    by the average of each horizontal stripe of the feature map (all visible), so the
    evaluator averages their distances: a part-based prediction in a dozen lines. Like
    every head it gives them as tensors (``predict_tensors``), which ``predict`` stores
    and ONNX export traces.
    """

    def __init__(self, num_stripes: int = 2, **kwargs) -> None:
        super().__init__(**kwargs)
        self.num_stripes = num_stripes

    @property
    def embedding_names(self) -> Tuple[str, ...]:
        """('global', 'stripe1', ..., 'stripeS')."""
        return ('global', ) + tuple(f'stripe{i + 1}' for i in range(self.num_stripes))

    def predict_tensors(self, feats: Tuple[Tensor, ...]) -> Tuple[Tensor, Tensor]:
        """Embeddings ``[N, 1 + num_stripes, C]`` and visibility ``[N, 1 + num_stripes]``."""
        x = feats[self.in_index]  # [N, C, H, W]
        if x.shape[2] < self.num_stripes:
            raise ValueError(f'a feature map of height {x.shape[2]} cannot be cut into '
                             f'{self.num_stripes} stripes')
        _, bn_feat = self.pre_logits(feats)  # [N, C]
        stripes = [s.mean(dim=(2, 3)) for s in x.tensor_split(self.num_stripes, dim=2)]
        emb = torch.stack([bn_feat] + stripes, dim=1)  # [N, 1 + S, C]
        return emb, emb.new_ones(emb.shape[:2])

    def predict(self, feats: Tuple[Tensor, ...],
                data_samples: Optional[List[ReIDDataSample]] = None) -> List[ReIDDataSample]:
        """Embeddings ``[1 + num_stripes, C]`` named ('global', 'stripe1', ...)."""
        emb, vis = self.predict_tensors(feats)
        return fill_predictions(data_samples, emb.detach(), vis, self.embedding_names,
                                type(self).__name__)
