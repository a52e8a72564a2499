"""The data sample that travels from the dataset to the metric."""
from typing import List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.structures import BaseDataElement, PixelData

LabelType = Union[int, np.integer, torch.Tensor, Sequence[int]]


class ReIDDataSample(BaseDataElement):
    """One image of a re-identification dataset and, after ``predict``, its embeddings.

    Meta information (``metainfo``): ``img_path``, ``pid`` (person id as in the
    dataset, -1 for junk), ``camid``, ``is_query`` (evaluation splits), ``img_shape``,
    ``ori_shape``, ``flip``; after prediction also ``embedding_names``.

    Data fields:
        gt_label (Tensor): ``[1]`` long, the training class index of the identity.
        gt_part_map (PixelData): ``data`` of shape ``[1, H, W]`` long, body-part label
            ids (0 = background, 1..K parts), optional.
        gt_region_map (PixelData): ``[1, H, W]`` long region ids (VPM), optional.
        region_boxes (Tensor): ``[p, 4]`` float VPM region boxes (x1, y1, x2, y2) in input
            pixels, optional; ``region_visibility`` (Tensor ``[p]``) beside them.
        gt_keypoints (Tensor): ``[17, 3]`` float COCO pose keypoints (x, y, v in input
            pixels), optional.
        embeddings (Tensor): ``[P, D]`` prediction, one row per embedding.
        visibility (Tensor): ``[P]`` float in [0, 1], the weight of each embedding in the
            visibility-weighted part distance.

    Example:
        >>> s = ReIDDataSample(metainfo=dict(pid=3, camid=1)).set_gt_label(0)
        >>> s.set_prediction(torch.zeros(2, 4), torch.ones(2), ('foreground', 'head'))
        >>> s.embeddings.shape
        torch.Size([2, 4])
    """

    def set_gt_label(self, value: LabelType) -> 'ReIDDataSample':
        """Set the training identity index (an int or a one-element tensor)."""
        if isinstance(value, torch.Tensor):
            label = value.reshape(-1).long()
        else:
            label = torch.as_tensor(np.asarray(value), dtype=torch.long).reshape(-1)
        if label.numel() != 1:
            raise ValueError(f'gt_label must hold one identity index, got {label.tolist()}')
        self.set_field(label, 'gt_label', dtype=torch.Tensor)
        return self

    def set_gt_part_map(self, value: Union[np.ndarray, torch.Tensor]) -> 'ReIDDataSample':
        """Set the body-part label map (``[H, W]`` or ``[1, H, W]`` integer ids)."""
        data = torch.as_tensor(np.ascontiguousarray(value) if isinstance(value, np.ndarray)
                               else value).long()
        if data.dim() == 2:
            data = data[None]
        self.set_field(PixelData(data=data), 'gt_part_map', dtype=PixelData)
        return self

    def set_prediction(self,
                       embeddings: torch.Tensor,
                       visibility: Optional[torch.Tensor] = None,
                       names: Optional[Sequence[str]] = None) -> 'ReIDDataSample':
        """Store the embeddings ``[P, D]``, visibility ``[P]`` and the embedding names."""
        if embeddings.dim() == 1:
            embeddings = embeddings[None]
        if embeddings.dim() != 2:
            raise ValueError(f'embeddings must be [P, D], got {tuple(embeddings.shape)}')
        num = embeddings.shape[0]
        if visibility is None:
            visibility = embeddings.new_ones(num)
        visibility = visibility.reshape(-1).to(embeddings.dtype)
        if visibility.numel() != num:
            raise ValueError(f'{visibility.numel()} visibility scores for {num} embeddings')
        if names is None:
            names = ('global', ) if num == 1 else tuple(f'emb{i}' for i in range(num))
        if len(names) != num:
            raise ValueError(f'{len(names)} embedding names for {num} embeddings')
        self.set_field(embeddings, 'embeddings', dtype=torch.Tensor)
        self.set_field(visibility, 'visibility', dtype=torch.Tensor)
        self.set_metainfo(dict(embedding_names=tuple(names)))
        return self


def fill_predictions(data_samples: Optional[List[ReIDDataSample]], embeddings: torch.Tensor,
                     visibility: torch.Tensor, names: Sequence[str],
                     owner: str = 'head') -> List[ReIDDataSample]:
    """Set ``embeddings [N, P, D]``, ``visibility [N, P]`` and the names on N data samples.

    New samples are made when ``data_samples`` is None; a count that differs from N is an
    error naming ``owner``.
    """
    num = embeddings.shape[0]
    if data_samples is None:
        data_samples = [ReIDDataSample() for _ in range(num)]
    if len(data_samples) != num:
        raise ValueError(f'{owner}.predict: {len(data_samples)} data samples for a batch '
                         f'of {num} images')
    names = tuple(names)
    for sample, emb, vis in zip(data_samples, embeddings, visibility):
        sample.set_prediction(emb, vis, names)
    return list(data_samples)
