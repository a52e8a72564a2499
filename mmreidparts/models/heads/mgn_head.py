"""MGN head as part awareness learning configures it (Fig. 8): 3 branches, 8 features.

On the branch maps of :class:`~mmreidparts.models.backbones.MultiBranchBackbone`
(ResNet-50 shared up to conv4_1, conv5 at stride 1 in every branch, 24x8 maps at
384x128): branch 1 global, branch 2 global + 2 stripes, branch 3 global + 3 stripes.

- Global feature of branch j: global max pooling -> FC256 gives ``f^j``, used by the
  triplet loss and the test feature; its classifier FC(C) gives branch j's
  cross-entropy (``global_classifier='shared'``, pal.md 8-1). The release's layout is
  ``global_embedding='em_fc'`` (Em256 then FC256) with ``global_classifier='separate'``
  (its own Em on the pooled map, 2048-d there, then FC(C)).
- Stripe features: stripe max pooling -> Em256 -> FC(C), cross-entropy only.

Losses: ``loss_ce`` is the mean of the 8 cross-entropies, ``loss_tri`` the mean over the
branches of the batch-hard triplet loss of ``f^j`` (margin 0.1, Euclidean, unnormalised).
Test: the 3 + 5 features (2048-d) concatenated and L2-normalised as one vector, or as 8
embeddings each normalised; the flip TTA (sum of the two views before normalising) is
``ReIDModel(test_cfg=dict(flip=True, flip_merge='sum'))``.
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor, nn

from mmreidparts.registry import MODELS
from mmreidparts.structures import ReIDDataSample

from ..utils.embedding import dim_reduction, id_classifier
from ..utils.pooling import STRIP_POOLS, strip_pool
from .bnneck_head import gather_labels
from .embedding_head import EmbeddingHead, Feats, select_map

GLOBAL_EMBEDDINGS = ('fc', 'em_fc')
GLOBAL_CLASSIFIERS = ('shared', 'separate')
MGN_TEST_EMBEDDINGS = ('concat', 'parts')


def _linear(in_channels: int, out_channels: int, std: float = 0.01) -> nn.Linear:
    """A plain FC layer, ``N(0, std^2)`` weights and zero bias."""
    layer = nn.Linear(in_channels, out_channels)
    nn.init.normal_(layer.weight, std=std)
    nn.init.zeros_(layer.bias)
    return layer


@MODELS.register_module()
class MGNHead(EmbeddingHead):
    """Multiple granularity network head: a global feature per branch plus stripe features.

    Args:
        in_channels: channels C of every branch map.
        num_classes: number of training identities.
        branch_stripes: stripes of each branch; 1 = the global feature only (MGN: 1, 2, 3).
        in_indices: the backbone outputs of the branches.
        pool: 'max' (the paper) or 'avg', for the global and the stripe pooling.
        embed_dim: d of every feature (256).
        global_embedding: 'fc' (``f^j = FC256(GMP)``, the paper) or 'em_fc' (Em256 then
            FC256, the release).
        global_classifier: 'shared' (the classifier on ``f^j``, the paper) or 'separate'
            (GMP -> Em ``global_cls_dim`` -> FC(C), ``f^j`` for triplet and test only).
        global_cls_dim: width of the separate classifier's Em (256; 2048 in the release).
        loss_cls: config of the identity loss of every classifier.
        loss_triplet: config of the metric loss of the global features (batch-hard,
            margin 0.1).
        test_embeddings: 'concat' (one 2048-d embedding, the paper) or 'parts' (8).
        test_normalize: L2-normalise the test embedding(s).
        init_cfg: mmengine initialisation config (the layers are initialised when built).
    """

    def __init__(self,
                 in_channels: int,
                 num_classes: int,
                 branch_stripes: Sequence[int] = (1, 2, 3),
                 in_indices: Sequence[int] = (0, 1, 2),
                 pool: str = 'max',
                 embed_dim: int = 256,
                 global_embedding: str = 'fc',
                 global_classifier: str = 'shared',
                 global_cls_dim: int = 256,
                 loss_cls: dict = dict(type='CrossEntropyLoss'),
                 loss_triplet: dict = dict(type='TripletLoss', margin=0.1),
                 test_embeddings: str = 'concat',
                 test_normalize: bool = True,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        branch_stripes, in_indices = tuple(branch_stripes), tuple(in_indices)
        if len(branch_stripes) != len(in_indices) or not branch_stripes \
                or min(branch_stripes) < 1:
            raise ValueError(f'MGNHead: branch_stripes {branch_stripes} (>= 1 each) and '
                             f'in_indices {in_indices} need one entry per branch')
        for name, value, allowed in (('pool', pool, STRIP_POOLS),
                                     ('global_embedding', global_embedding, GLOBAL_EMBEDDINGS),
                                     ('global_classifier', global_classifier,
                                      GLOBAL_CLASSIFIERS),
                                     ('test_embeddings', test_embeddings, MGN_TEST_EMBEDDINGS)):
            if value not in allowed:
                raise ValueError(f'MGNHead: {name} must be one of {allowed}, got {value!r}')
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.branch_stripes = branch_stripes
        self.in_indices = in_indices
        self.pool = pool
        self.embed_dim = embed_dim
        self.global_embedding = global_embedding
        self.global_classifier = global_classifier
        self.test_embedding_mode = test_embeddings
        self.test_normalize = test_normalize
        num_branches = len(branch_stripes)
        num_stripes = sum(s for s in branch_stripes if s > 1)

        def global_embed() -> nn.Module:
            if global_embedding == 'fc':
                return _linear(in_channels, embed_dim)
            return nn.Sequential(*dim_reduction(in_channels, embed_dim),
                                 _linear(embed_dim, embed_dim))

        self.global_embeds = nn.ModuleList(global_embed() for _ in range(num_branches))
        cls_in = embed_dim
        self.global_cls_embeds = None
        if global_classifier == 'separate':
            self.global_cls_embeds = nn.ModuleList(
                dim_reduction(in_channels, global_cls_dim) for _ in range(num_branches))
            cls_in = global_cls_dim
        self.global_classifiers = nn.ModuleList(
            id_classifier(cls_in, num_classes) for _ in range(num_branches))
        self.stripe_embeds = nn.ModuleList(
            dim_reduction(in_channels, embed_dim) for _ in range(num_stripes))
        self.stripe_classifiers = nn.ModuleList(
            id_classifier(embed_dim, num_classes) for _ in range(num_stripes))
        self.loss_cls = MODELS.build(loss_cls)
        self.loss_triplet = MODELS.build(loss_triplet)

    def branch_maps(self, feats: Feats) -> List[Tensor]:
        """The branch maps ``[N, C, H, W]``, checked (channels, stripes dividing H)."""
        if isinstance(feats, Tensor):
            feats = (feats, )
        if len(feats) <= max(self.in_indices):
            raise ValueError(f'MGNHead reads backbone outputs {self.in_indices}, but the '
                             f'backbone gives {len(feats)}; use MultiBranchBackbone with '
                             f'num_branches={len(self.in_indices)}')
        maps = [select_map(feats, i, self.in_channels, 'MGNHead') for i in self.in_indices]
        for x, stripes in zip(maps, self.branch_stripes):
            if x.shape[2] % stripes:
                raise ValueError(f'MGNHead: a branch map of {x.shape[2]} rows cannot be cut '
                                 f'into {stripes} stripes (model.head.branch_stripes='
                                 f'{self.branch_stripes}); choose an input height whose map '
                                 'height is a multiple of every stripe count')
        return maps

    def forward(self, feats: Feats) -> Dict[str, Union[Tensor, List[Tensor]]]:
        """'globals' ``[N, B, d]`` (``f^j``), 'stripes' ``[N, T, d]`` and 'logits' (B + T).

        The logits list holds the B global classifiers' outputs, then the T stripes' (in
        branch order, top to bottom).
        """
        globals_, stripes, global_logits, stripe_logits = [], [], [], []
        k = 0
        for b, (x, num) in enumerate(zip(self.branch_maps(feats), self.branch_stripes)):
            pooled = x.amax(dim=(2, 3)) if self.pool == 'max' else x.mean(dim=(2, 3))
            feat = self.global_embeds[b](pooled)  # [N, d]
            globals_.append(feat)
            cls_feat = feat if self.global_cls_embeds is None else \
                self.global_cls_embeds[b](pooled)
            global_logits.append(self.global_classifiers[b](cls_feat))
            if num == 1:
                continue
            for s, stripe in enumerate(strip_pool(x, num, self.pool).unbind(1)):  # [N, C]
                emb = self.stripe_embeds[k + s](stripe)  # [N, d]
                stripes.append(emb)
                stripe_logits.append(self.stripe_classifiers[k + s](emb))
            k += num
        out = dict(globals=torch.stack(globals_, dim=1), logits=global_logits + stripe_logits)
        out['stripes'] = (torch.stack(stripes, dim=1) if stripes
                          else out['globals'].new_zeros(out['globals'].shape[0], 0,
                                                        self.embed_dim))
        return out

    def loss(self, feats: Feats,
             data_samples: Sequence[ReIDDataSample]) -> Dict[str, Tensor]:
        """'loss_ce' (mean of the B + T CEs), 'loss_tri' (mean over branches), 'acc_top1'."""
        out = self(feats)
        labels = gather_labels(data_samples, self.num_classes, out['globals'].device)
        losses = dict(
            loss_ce=torch.stack([self.loss_cls(lg, labels) for lg in out['logits']]).mean(),
            loss_tri=torch.stack([self.loss_triplet(out['globals'][:, b], labels)
                                  for b in range(out['globals'].shape[1])]).mean())
        losses['acc_top1'] = self.accuracy(out['logits'], labels)
        return losses

    @property
    def embedding_names(self) -> Tuple[str, ...]:
        """'concat', or the 8 feature names ('b1_global', ..., 'b3_stripe3')."""
        if self.test_embedding_mode == 'concat':
            return ('concat', )
        names = [f'b{b + 1}_global' for b in range(len(self.branch_stripes))]
        for b, num in enumerate(self.branch_stripes):
            if num > 1:
                names += [f'b{b + 1}_stripe{s + 1}' for s in range(num)]
        return tuple(names)

    def test_embeddings(self, feats: Feats) -> Tensor:
        """``[N, 1, 8d]`` ('concat') or ``[N, 8, d]`` ('parts'): globals then stripes."""
        out = self(feats)
        parts = torch.cat([out['globals'], out['stripes']], dim=1)  # [N, B + T, d]
        if self.test_embedding_mode == 'concat':
            return parts.flatten(1)[:, None]
        return parts
