"""Partial-REID (Zheng et al., ICCV 2015) and Partial-iLIDS (Zheng et al., 2011): test sets."""
import os.path as osp
import re
from typing import List, Optional, Tuple

from mmreidparts.registry import DATASETS

from .base_reid_dataset import BaseReIDDataset


class _PartialTestSet(BaseReIDDataset):
    """A test-only set: partial query images (camid 0) against whole-body images (camid 1)."""

    EVAL_PROTOCOL = 'all'
    SPLIT_DIRS = dict(query='partial_body_images', gallery='whole_body_images')
    SPLIT_CAMIDS = dict(query=0, gallery=1)

    def __init__(self, data_root: str, mode: str = 'test', **kwargs) -> None:
        if mode == 'train':
            raise ValueError(f"{type(self).__name__} is a test-only dataset (mode 'query', "
                             "'gallery' or 'test'); VPM and BPBreID train on Market-1501")
        super().__init__(data_root, mode=mode, **kwargs)

    def parse_name(self, filename: str) -> Optional[Tuple[int, int]]:
        """``(pid, 0)`` from the file name; the camera comes from the split folder."""
        stem = osp.splitext(osp.basename(filename))[0]
        match = re.match(self.NAME_PATTERN, stem)
        if match is None:
            raise ValueError(f'{self.DATASET_NAME}: cannot parse the file name {filename!r}; '
                             f'expected {self.NAME_FORMAT}')
        return int(match.group('pid')), 0

    def list_split(self, split: str) -> List[dict]:
        """Records of a split, with the camid of the split (query 0, gallery 1)."""
        records = super().list_split(split)
        for rec in records:
            rec['camid'] = self.SPLIT_CAMIDS[split]
        return records


@DATASETS.register_module()
class PartialREID(_PartialTestSet):
    """Partial-REID: 60 identities, 5 partial and 5 whole-body images each (test only).

    Layout (as read by BPBreID)::

        <data_root>/partial_body_images/<pid>_<nn>.jpg   (query, 300 images, 60 ids)
        <data_root>/whole_body_images/<pid>_<nn>.jpg     (gallery, 300 images, 60 ids)

    Protocol ``'all'`` (VPM and the methods it compares to): every partial image is a
    query against all whole-body images, single query, no camera filtering (query camid
    0, gallery camid 1). Models are trained on Market-1501; report CMC rank-1 and rank-3.
    """

    DATASET_NAME = 'partial_reid'
    NAME_PATTERN = r'^(?P<pid>\d+)_'
    NAME_FORMAT = '<pid>_<number>.jpg (e.g. 001_01.jpg)'
    EXPECTED_COUNTS = dict(query=(300, 60), gallery=(300, 60))


@DATASETS.register_module()
class PartialiLIDS(_PartialTestSet):
    """Partial-iLIDS: 119 identities, one partial and one whole-body image each (test only).

    Layout (as read by BPBreID)::

        <data_root>/partial_body_images/<pid>.jpg   (query, 119 images)
        <data_root>/whole_body_images/<pid>.jpg     (gallery, 119 images)

    Protocol ``'all'``: 119 partial queries against the 119 whole-body images, no camera
    filtering (query camid 0, gallery camid 1); CMC rank-1 and rank-3.
    """

    DATASET_NAME = 'partial_ilids'
    NAME_PATTERN = r'^(?P<pid>\d+)$'
    NAME_FORMAT = '<pid>.jpg (e.g. 001.jpg)'
    EXPECTED_COUNTS = dict(query=(119, 119), gallery=(119, 119))
