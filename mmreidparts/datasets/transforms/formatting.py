"""Packing a results dict into model inputs and a ReIDDataSample."""
from typing import Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import PixelData

from mmreidparts.registry import TRANSFORMS
from mmreidparts.structures.reid_data_sample import ReIDDataSample

DEFAULT_META_KEYS = ('img_path', 'pid', 'camid', 'is_query', 'img_shape', 'ori_shape', 'flip',
                     'tracklet_id', 'in_gallery')


@TRANSFORMS.register_module()
class PackReIDInputs(BaseTransform):
    """Pack ``img`` into ``inputs`` (3 x H x W tensor) and the rest into a ReIDDataSample.

    The data sample gets ``gt_label`` (-1 when the record has none), the ``meta_keys``
    found in the results as metainfo (``flip`` defaults to False) and, when present:

    - ``gt_part_map``: PixelData ``[1, H, W]`` long, from ``gt_seg_map`` (H x W ids);
    - ``gt_region_map``: PixelData ``[1, H, W]`` long, from ``gt_region_map`` (VPM's
      region id of every pixel);
    - ``region_visibility``: ``[p]`` float32 tensor, from ``region_visibility``;
    - ``region_boxes``: ``[p, 4]`` float32 tensor (x1, y1, x2, y2 in input pixels), from
      ``region_boxes`` (VPM's regions, which its head projects on the feature map);
    - ``gt_part_fields``: PixelData ``[K, H, W]`` float32, from ``gt_part_fields`` (soft
      part fields, channel k = part k + 1 of the scheme);
    - ``gt_keypoints``: ``[17, 3]`` float32 tensor (x, y, v in input pixels), from
      ``gt_keypoints``.

    Args:
        meta_keys: keys copied into the data sample's metainfo (those present; the video
            datasets' ``tracklet_id`` and ``in_gallery`` included by default).
    """

    def __init__(self, meta_keys: Sequence[str] = DEFAULT_META_KEYS) -> None:
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        """Return ``dict(inputs=Tensor[3, H, W], data_samples=ReIDDataSample)``."""
        if 'img' not in results:
            raise KeyError(f'PackReIDInputs: no image in the results of '
                           f'{results.get("img_path")}; put LoadReIDImage in the pipeline')
        img = results['img']
        if img.ndim == 2:
            img = img[..., None]
        inputs = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))  # [3, H, W]

        sample = ReIDDataSample()
        sample.set_gt_label(int(results.get('gt_label', -1)))
        if results.get('gt_seg_map') is not None:
            sample.set_gt_part_map(results['gt_seg_map'])  # [1, H, W] long
        if results.get('gt_region_map') is not None:
            region = torch.as_tensor(np.ascontiguousarray(results['gt_region_map'])).long()
            if region.dim() == 2:
                region = region[None]  # [1, H, W]
            sample.set_field(PixelData(data=region), 'gt_region_map', dtype=PixelData)
        if results.get('region_visibility') is not None:
            vis = torch.as_tensor(np.asarray(results['region_visibility']),
                                  dtype=torch.float32).reshape(-1)  # [p]
            sample.set_field(vis, 'region_visibility', dtype=torch.Tensor)
        if results.get('region_boxes') is not None:
            boxes = torch.as_tensor(np.asarray(results['region_boxes']),
                                    dtype=torch.float32).reshape(-1, 4)  # [p, 4]
            sample.set_field(boxes, 'region_boxes', dtype=torch.Tensor)
        if results.get('gt_part_fields') is not None:
            fields = torch.as_tensor(np.ascontiguousarray(results['gt_part_fields']),
                                     dtype=torch.float32)
            if fields.dim() != 3:
                raise ValueError(f'PackReIDInputs: gt_part_fields of {results.get("img_path")} '
                                 f'must be [K, H, W], got {tuple(fields.shape)}')
            sample.set_field(PixelData(data=fields), 'gt_part_fields', dtype=PixelData)
        if results.get('gt_keypoints') is not None:
            kps = torch.as_tensor(np.asarray(results['gt_keypoints']), dtype=torch.float32)
            sample.set_field(kps.reshape(-1, 3), 'gt_keypoints', dtype=torch.Tensor)
        meta = {k: results[k] for k in self.meta_keys if k in results}
        if 'flip' in self.meta_keys:
            meta.setdefault('flip', False)
        sample.set_metainfo(meta)
        return dict(inputs=inputs, data_samples=sample)

    def __repr__(self) -> str:
        """Name and arguments."""
        return f'{type(self).__name__}(meta_keys={self.meta_keys})'

