"""PCB head as part awareness learning configures it (Fig. 5): 6 stripes, no RPP."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor, nn

from mmreidparts.registry import MODELS
from mmreidparts.structures import ReIDDataSample

from ..utils.embedding import dim_reduction, id_classifier
from ..utils.pooling import STRIP_POOLS, strip_pool
from .bnneck_head import gather_labels
from .embedding_head import EmbeddingHead, Feats, select_map

PCB_TEST_EMBEDDINGS = ('concat', 'stripes')


@MODELS.register_module()
class PCBHead(EmbeddingHead):
    """F -> S equal horizontal stripes -> per stripe: pooling, its own Em d and FC(C).

    Training: ``loss_ce`` is the **sum** over the stripes of each stripe's batch-mean
    cross-entropy. Test: the S Em outputs, each L2-normalised, either concatenated into
    one embedding ('concat', scaled to unit length: its cosine similarity is the mean of
    the stripes') or as S embeddings 'stripe1'..'stripeS' ('stripes').

    Args:
        in_channels: channels of the backbone map.
        num_classes: number of training identities.
        num_stripes: S (6); the map height must be a multiple of it.
        in_index: which of the backbone's outputs to use.
        pool: 'max' (the paper) or 'avg' (the original PCB) within a stripe.
        embed_dim: d of each stripe's Em layer (256).
        loss_cls: config of the identity loss of each stripe.
        test_embeddings: 'concat' (the paper's 1536-d test feature) or 'stripes'.
        test_normalize: L2-normalise each stripe's test embedding.
        init_cfg: mmengine initialisation config (the layers are initialised when built).
    """

    def __init__(self,
                 in_channels: int,
                 num_classes: int,
                 num_stripes: int = 6,
                 in_index: int = -1,
                 pool: str = 'max',
                 embed_dim: int = 256,
                 loss_cls: dict = dict(type='CrossEntropyLoss'),
                 test_embeddings: str = 'concat',
                 test_normalize: bool = True,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if in_channels <= 0 or num_classes <= 0 or num_stripes < 1 or embed_dim <= 0:
            raise ValueError(f'PCBHead needs in_channels, num_classes, num_stripes and '
                             f'embed_dim > 0, got {in_channels}, {num_classes}, {num_stripes}, '
                             f'{embed_dim}')
        if pool not in STRIP_POOLS:
            raise ValueError(f'PCBHead pool must be one of {STRIP_POOLS}, got {pool!r}')
        if test_embeddings not in PCB_TEST_EMBEDDINGS:
            raise ValueError(f'PCBHead test_embeddings must be one of {PCB_TEST_EMBEDDINGS}, '
                             f'got {test_embeddings!r}')
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.num_stripes = num_stripes
        self.in_index = in_index
        self.pool = pool
        self.embed_dim = embed_dim
        self.test_embedding_mode = test_embeddings
        self.test_normalize = test_normalize
        self.norm_groups = num_stripes if test_embeddings == 'concat' else 1
        self.embeds = nn.ModuleList(
            dim_reduction(in_channels, embed_dim) for _ in range(num_stripes))
        self.classifiers = nn.ModuleList(
            id_classifier(embed_dim, num_classes) for _ in range(num_stripes))
        self.loss_cls = MODELS.build(loss_cls)

    def forward(self, feats: Feats) -> Dict[str, Union[Tensor, List[Tensor]]]:
        """'stripes' ``[N, S, C]`` (pooled), 'embeddings' ``[N, S, D]``, 'logits' (S x [N, C])."""
        x = select_map(feats, self.in_index, self.in_channels, type(self).__name__)
        if x.shape[2] % self.num_stripes:
            raise ValueError(
                f'PCBHead: the feature map is {x.shape[2]} rows high, which '
                f'model.head.num_stripes={self.num_stripes} stripes do not divide; choose an '
                'input height (ReIDResize scale in the pipelines) whose feature map height '
                f'(input height / output stride) is a multiple of {self.num_stripes}')
        stripes = strip_pool(x, self.num_stripes, self.pool)  # [N, S, C]
        embeddings = torch.stack(
            [embed(stripes[:, k]) for k, embed in enumerate(self.embeds)], dim=1)  # [N, S, D]
        logits = [cls(embeddings[:, k]) for k, cls in enumerate(self.classifiers)]
        return dict(stripes=stripes, embeddings=embeddings, logits=logits)

    def loss(self, feats: Feats,
             data_samples: Sequence[ReIDDataSample]) -> Dict[str, Tensor]:
        """'loss_ce' (sum over the stripes) and 'acc_top1' (summed probabilities, percent)."""
        out = self(feats)
        labels = gather_labels(data_samples, self.num_classes, out['embeddings'].device)
        return dict(loss_ce=sum(self.loss_cls(lg, labels) for lg in out['logits']),
                    acc_top1=self.accuracy(out['logits'], labels))

    @property
    def embedding_names(self) -> Tuple[str, ...]:
        """'concat', or 'stripe1'..'stripeS' (top to bottom)."""
        if self.test_embedding_mode == 'concat':
            return ('concat', )
        return tuple(f'stripe{k + 1}' for k in range(self.num_stripes))

    def test_embeddings(self, feats: Feats) -> Tensor:
        """``[N, 1, S*D]`` ('concat') or ``[N, S, D]`` ('stripes'), before normalisation."""
        embeddings = self(feats)['embeddings']  # [N, S, D]
        if self.test_embedding_mode == 'concat':
            return embeddings.flatten(1)[:, None]
        return embeddings
