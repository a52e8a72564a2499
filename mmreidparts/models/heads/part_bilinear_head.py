"""Part-aligned bilinear head (Suh et al., ECCV 2018): embed both streams, pool their product.

From the appearance map ``A`` [N, cA, h, w] and the part map ``P`` [N, cP, h, w] of a
:class:`~mmreidparts.models.backbones.TwoStreamBackbone`:

- ``a = BN(conv1x1(A))`` [N, 512, h, w] and ``p = BN(conv3x3(P))`` [N, 128, h, w] (BN
  without affine parameters, no ReLU; the "non-negative" variant adds a ReLU on p),
- ``f = pool(a, p)``: compact bilinear pooling (Tensor Sketch, d = 512) of the outer
  products averaged over the locations, or the exact 65,536-d bilinear vector,
- ``f~ = f / |f|``: one L2-normalised descriptor per image,

trained with the batch-all triplet loss only. At test time each image gets the single
embedding ``f~`` with visibility 1; ranking by Euclidean distance equals ranking by the
inner product on unit vectors.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmreidparts.registry import MODELS
from mmreidparts.structures import ReIDDataSample, fill_predictions

from ..utils.embedding import conv_bn_embedding
from .bnneck_head import gather_labels


@MODELS.register_module()
class PartBilinearHead(BaseModule):
    """Conv-BN embedding of each stream, bilinear pooling, L2 normalisation, triplet loss.

    Args:
        app_channels: cA of the appearance map (832 for GoogLeNet to inception_4e).
        part_channels: cP of the part map (185 for the OpenPose concat).
        num_classes: number of training identities (checked against the labels; the loss
            has no classifier).
        app_dim: channels of the appearance embedding (512).
        part_dim: channels of the part embedding (128).
        app_kernel: kernel of the appearance embedding conv (1).
        part_kernel: kernel of the part embedding conv (3).
        part_relu: ReLU after the part embedding (the paper's "non-negative" variant).
        pooling: config of the pooling; ``in`` dims are filled in:
            ``dict(type='CompactBilinearPooling', output_dim=512, seeds=(1, 3, 5, 7))``
            (default) or ``dict(type='BilinearPooling')`` (exact, ``app_dim * part_dim``).
        loss: config of the metric loss on the normalised descriptors.
        app_index: index of the appearance map in the backbone's output tuple.
        part_index: index of the part map.
        embedding_name: name of the test embedding.
        init_cfg: mmengine initialisation config; the embeddings start Xavier-uniform with
            zero biases.
    """

    def __init__(self,
                 app_channels: int,
                 part_channels: int,
                 num_classes: int,
                 app_dim: int = 512,
                 part_dim: int = 128,
                 app_kernel: int = 1,
                 part_kernel: int = 3,
                 part_relu: bool = False,
                 pooling: dict = dict(type='CompactBilinearPooling', output_dim=512),
                 loss: dict = dict(type='BatchAllTripletLoss', margin=0.2),
                 app_index: int = 0,
                 part_index: int = 1,
                 embedding_name: str = 'bilinear',
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if min(app_channels, part_channels, app_dim, part_dim, num_classes) <= 0:
            raise ValueError('PartBilinearHead: channels, dims and num_classes must be '
                             f'positive, got {app_channels}, {part_channels}, {app_dim}, '
                             f'{part_dim}, {num_classes}')
        self.app_channels = app_channels
        self.part_channels = part_channels
        self.num_classes = num_classes
        self.app_index = app_index
        self.part_index = part_index
        self.embedding_name = embedding_name
        self.app_embed = conv_bn_embedding(app_channels, app_dim, app_kernel)
        self.part_embed = conv_bn_embedding(part_channels, part_dim, part_kernel,
                                            relu=part_relu)
        pooling = dict(pooling)
        pooling.setdefault('app_dim', app_dim)
        pooling.setdefault('part_dim', part_dim)
        self.pooling = MODELS.build(pooling)
        self.embed_dim = int(self.pooling.output_dim)
        self.loss_metric = loss if isinstance(loss, nn.Module) else MODELS.build(loss)

    # the config checks read a head's input like a single-map head's
    @property
    def in_channels(self) -> int:
        """Channels of the appearance map the head reads."""
        return self.app_channels

    @property
    def in_index(self) -> int:
        """Index of the appearance map in the backbone's output."""
        return self.app_index

    def _maps(self, feats: Sequence[Tensor]) -> Sequence[Tensor]:
        """The appearance and part maps, checked."""
        if isinstance(feats, Tensor) or len(feats) < 2:
            raise ValueError('PartBilinearHead expects the (appearance, part) maps of a '
                             'two-stream backbone (TwoStreamBackbone)')
        app, part = feats[self.app_index], feats[self.part_index]
        if app.dim() != 4 or app.shape[1] != self.app_channels:
            raise ValueError(f'PartBilinearHead: appearance map {tuple(app.shape)}, expected '
                             f'[N, {self.app_channels}, h, w] (app_channels)')
        if part.dim() != 4 or part.shape[1] != self.part_channels:
            raise ValueError(f'PartBilinearHead: part map {tuple(part.shape)}, expected '
                             f'[N, {self.part_channels}, h, w] (part_channels)')
        return app, part

    def forward(self, feats: Sequence[Tensor]) -> Dict[str, Tensor]:
        """Embedded maps and descriptors of a batch.

        Returns:
            dict with 'app' ``[N, app_dim, h, w]``, 'part' ``[N, part_dim, h, w]``,
            'pooled' ``[N, d]`` (before normalisation, float32) and 'embedding' ``[N, d]``
            (unit L2 norm).
        """
        app, part = self._maps(feats)
        a = self.app_embed(app)  # [N, 512, h, w]
        p = self.part_embed(part)  # [N, 128, h, w]
        pooled, embedding = self.descriptor(a, p)
        return dict(app=a, part=p, pooled=pooled, embedding=embedding)

    def descriptor(self, a: Tensor, p: Tensor) -> Sequence[Tensor]:
        """Pooled ``[N, d]`` and L2-normalised ``[N, d]`` descriptors of embedded maps."""
        pooled = self.pooling(a, p)  # [N, d]
        with torch.autocast(device_type=pooled.device.type, enabled=False):
            return pooled, F.normalize(pooled.float(), dim=1)

    def loss(self, feats: Sequence[Tensor],
             data_samples: Sequence[ReIDDataSample]) -> Dict[str, Tensor]:
        """'loss_triplet' and the logged share of active triplets 'active_triplets' (%)."""
        emb = self(feats)['embedding']  # [N, d]
        labels = gather_labels(data_samples, self.num_classes, emb.device)  # [N]
        if labels.numel() != emb.shape[0]:
            raise ValueError(f'{labels.numel()} labels for a batch of {emb.shape[0]} images')
        losses = {'loss_triplet': self.loss_metric(emb, labels)}
        last = getattr(self.loss_metric, 'last', None)
        if last is not None:
            losses['active_triplets'] = (100.0 * last.num_active /
                                         last.num_triplets.clamp(min=1)).float().detach()
        return losses

    @property
    def embedding_names(self) -> Tuple[str, ...]:
        """Name of the one test embedding."""
        return (self.embedding_name, )

    def predict_tensors(self, feats: Sequence[Tensor]) -> Tuple[Tensor, Tensor]:
        """The unit descriptor ``[N, 1, d]`` and visibility ones ``[N, 1]``."""
        emb = self(feats)['embedding']  # [N, d]
        return emb[:, None], emb.new_ones(emb.shape[0], 1)

    def predict(self, feats: Sequence[Tensor],
                data_samples: Optional[List[ReIDDataSample]] = None) -> List[ReIDDataSample]:
        """Set one embedding ``[1, d]`` (unit norm) with visibility 1 per image."""
        embeddings, visibility = self.predict_tensors(feats)
        return fill_predictions(data_samples, embeddings.detach(), visibility,
                                self.embedding_names, type(self).__name__)


__all__ = ['PartBilinearHead']
