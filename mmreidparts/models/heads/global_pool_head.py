"""GlobalPool head (part awareness learning, Fig. 4): global max pooling, Em512, classifier."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

from torch import Tensor

from mmreidparts.registry import MODELS
from mmreidparts.structures import ReIDDataSample

from ..utils.embedding import dim_reduction, id_classifier
from ..utils.pooling import GlobalPool
from .bnneck_head import gather_labels
from .embedding_head import EmbeddingHead, Feats, select_map


@MODELS.register_module()
class GlobalPoolHead(EmbeddingHead):
    """F -> global pooling -> Em d (Linear-BN-ReLU) -> FC(C), trained with cross-entropy.

    The test embedding is the Em output (512-d), named 'global', L2-normalised.

    Args:
        in_channels: channels of the backbone map.
        num_classes: number of training identities.
        in_index: which of the backbone's outputs to use.
        pool: 'max' (the paper), 'avg' or 'gem'.
        embed_dim: d of the Em layer (512), or None for no embedding layer.
        loss_cls: config of the identity loss.
        test_normalize: L2-normalise the test embedding.
        init_cfg: mmengine initialisation config (the layers are initialised when built).
    """

    def __init__(self,
                 in_channels: int,
                 num_classes: int,
                 in_index: int = -1,
                 pool: str = 'max',
                 embed_dim: Optional[int] = 512,
                 loss_cls: dict = dict(type='CrossEntropyLoss'),
                 test_normalize: bool = True,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if in_channels <= 0 or num_classes <= 0:
            raise ValueError(f'GlobalPoolHead needs in_channels > 0 and num_classes > 0, got '
                             f'{in_channels} and {num_classes}')
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.in_index = in_index
        self.test_normalize = test_normalize
        self.pool = GlobalPool(pool)
        self.embed = dim_reduction(in_channels, embed_dim)
        self.embed_dim = embed_dim or in_channels
        self.classifier = id_classifier(self.embed_dim, num_classes)
        self.loss_cls = MODELS.build(loss_cls)

    def forward(self, feats: Feats) -> Dict[str, Tensor]:
        """'pooled' ``[N, C]``, 'embedding' ``[N, D]`` and 'logits' ``[N, num_classes]``."""
        x = select_map(feats, self.in_index, self.in_channels, type(self).__name__)
        pooled = self.pool(x)  # [N, C]
        embedding = self.embed(pooled)  # [N, D]
        return dict(pooled=pooled, embedding=embedding, logits=self.classifier(embedding))

    def loss(self, feats: Feats,
             data_samples: Sequence[ReIDDataSample]) -> Dict[str, Tensor]:
        """'loss_ce' and 'acc_top1' (percent)."""
        out = self(feats)
        labels = gather_labels(data_samples, self.num_classes, out['logits'].device)
        return dict(loss_ce=self.loss_cls(out['logits'], labels),
                    acc_top1=self.accuracy([out['logits']], labels))

    @property
    def embedding_names(self) -> Tuple[str, ...]:
        """One embedding, 'global'."""
        return ('global', )

    def test_embeddings(self, feats: Feats) -> Tensor:
        """The Em output ``[N, 1, D]``."""
        return self(feats)['embedding'][:, None]
