"""Base of the heads whose test output is a few pooled embeddings, all visible (GP, PCB, MGN)."""
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from mmreidparts.structures import ReIDDataSample, fill_predictions

Feats = Union[Tensor, Sequence[Tensor]]


def select_map(feats: Feats, index: int, channels: int, owner: str) -> Tensor:
    """Backbone output ``index`` of ``feats``, checked to be ``[N, channels, H, W]``."""
    x = feats if isinstance(feats, Tensor) else feats[index]
    if x.dim() != 4 or x.shape[1] != channels:
        raise ValueError(f'{owner}(in_channels={channels}) expects a feature map [N, {channels}, '
                         f'H, W], got {tuple(x.shape)}; fix model.head.in_channels')
    return x


class EmbeddingHead(BaseModule):
    """Test-time embeddings ``[P, D]`` with visibility 1, optionally L2-normalised.

    A subclass computes its raw test embeddings ``[N, P, D]`` (:meth:`test_embeddings`)
    and names them (:attr:`embedding_names`). :meth:`normalize_embeddings` L2-normalises
    every row, or, with ``norm_groups = G > 1``, each of the G equal chunks of a row
    separately, scaled by ``1 / sqrt(G)`` so that the row has unit length (a
    concatenation of separately normalised stripes). ``predict(..., normalize=False)``
    gives the raw embeddings, so that ``ReIDModel``'s test-time flip can sum the two
    views before normalising (``test_cfg.flip_merge='sum'``).
    """

    test_normalize: bool = True
    norm_groups: int = 1

    @property
    def embedding_names(self) -> Tuple[str, ...]:
        """Names of the P test embeddings."""
        raise NotImplementedError

    def test_embeddings(self, feats: Feats) -> Tensor:
        """Raw test embeddings ``[N, P, D]`` of a batch."""
        raise NotImplementedError

    def normalize_embeddings(self, embeddings: Tensor) -> Tensor:
        """L2-normalise test embeddings ``[N, P, D]`` (rows, or G chunks per row)."""
        if not self.test_normalize:
            return embeddings
        groups = self.norm_groups
        if groups == 1:
            return F.normalize(embeddings, dim=-1)
        num, parts, dim = embeddings.shape
        chunks = F.normalize(embeddings.reshape(num, parts, groups, dim // groups), dim=-1)
        return chunks.reshape(num, parts, dim) / groups**0.5

    def predict_tensors(self, feats: Feats, normalize: bool = True) -> Tuple[Tensor, Tensor]:
        """Test embeddings ``[N, P, D]`` (normalised unless ``normalize=False``), visibility
        ones ``[N, P]``."""
        embeddings = self.test_embeddings(feats)  # [N, P, D]
        if normalize:
            embeddings = self.normalize_embeddings(embeddings)
        return embeddings, embeddings.new_ones(embeddings.shape[:2])

    def predict(self, feats: Feats, data_samples: Optional[List[ReIDDataSample]] = None,
                normalize: bool = True) -> List[ReIDDataSample]:
        """Fill each sample with embeddings ``[P, D]``, visibility ones ``[P]`` and the names."""
        embeddings, visibility = self.predict_tensors(feats, normalize)
        return fill_predictions(data_samples, embeddings.detach(), visibility,
                                self.embedding_names, type(self).__name__)

    @staticmethod
    def accuracy(logits: Sequence[Tensor], labels: Tensor) -> Tensor:
        """Top-1 accuracy (percent) of the summed class probabilities of several classifiers."""
        with torch.no_grad():
            probs = torch.stack([lg.float().softmax(dim=1) for lg in logits]).sum(dim=0)
            return (probs.argmax(dim=1) == labels).float().mean() * 100
