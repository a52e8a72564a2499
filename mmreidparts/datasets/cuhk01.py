"""CUHK01 (Li et al., ACCV 2012): 971 identities, two cameras, two images per camera."""
import os
import os.path as osp
import re
from typing import Dict, List, Optional, Tuple

import numpy as np

from mmreidparts.registry import DATASETS

from .base_reid_dataset import BaseReIDDataset


@DATASETS.register_module()
class CUHK01(BaseReIDDataset):
    """CUHK01 (CUHK Campus) with a random split of its identities into train and test.

    Layout (the authors' ``CUHK01.zip``, folder ``campus``)::

        <data_root>/campus/PPPPCCC.png   (3884 images: PPPP = person 0001..0971,
                                          CCC = image 001..004; 001-002 camera A, 003-004 B)

    ``num_test_ids`` identities (486, the protocol used by the part-aligned bilinear paper
    and others; 100 is the other common choice) are drawn with ``split_seed``; the others
    (485) train. Queries are the test ids' camera-A images (camid 0), the gallery their
    camera-B images (camid 1). Expected counts with 486 test ids: train 1940 images / 485
    ids, query 972 / 486, gallery 972 / 486.

    Protocol ``'cuhk03_classic'``: single-gallery-shot CMC (one random gallery image per
    identity, averaged over repeated draws), as for CUHK03's classic splits.
    """

    DATASET_NAME = 'cuhk01'
    EVAL_PROTOCOL = 'cuhk03_classic'
    SPLIT_DIRS = dict(train='campus', query='campus', gallery='campus')
    IMG_EXTS = ('.png', '.jpg', '.bmp')
    NUM_IDS = 971
    IMAGES_PER_ID = 4
    NAME_PATTERN = r'^(?P<pid>\d{4})(?P<img>\d{3})$'

    def __init__(self,
                 data_root: str,
                 num_test_ids: int = 486,
                 split_seed: int = 0,
                 **kwargs) -> None:
        if not 0 < num_test_ids < self.NUM_IDS:
            raise ValueError(f'CUHK01: num_test_ids must be in 1..{self.NUM_IDS - 1}, got '
                             f'{num_test_ids}')
        self.num_test_ids = num_test_ids
        self.split_seed = split_seed
        per_cam = self.IMAGES_PER_ID // 2
        n_train = self.NUM_IDS - num_test_ids
        self.EXPECTED_COUNTS = dict(
            train=(n_train * self.IMAGES_PER_ID, n_train),
            query=(num_test_ids * per_cam, num_test_ids),
            gallery=(num_test_ids * per_cam, num_test_ids))
        self._cache: Optional[Dict[str, List[dict]]] = None
        super().__init__(data_root, **kwargs)

    def parse_name(self, filename: str) -> Optional[Tuple[int, int]]:
        """``(pid, camid)`` of ``PPPPCCC.png``: images 1-2 are camera A (0), 3-4 camera B (1)."""
        stem = osp.splitext(osp.basename(filename))[0]
        match = re.match(self.NAME_PATTERN, stem)
        if match is None:
            raise ValueError(f'{self.DATASET_NAME}: cannot parse the file name {filename!r}; '
                             'expected PPPPCCC.png (4-digit person, 3-digit image number, '
                             'e.g. 0001001.png)')
        img = int(match.group('img'))
        if not 1 <= img <= self.IMAGES_PER_ID:
            raise ValueError(f'{self.DATASET_NAME}: image number {img} in {filename!r} is '
                             f'outside 1..{self.IMAGES_PER_ID}')
        return int(match.group('pid')), 0 if img <= self.IMAGES_PER_ID // 2 else 1

    def _records_by_split(self) -> Dict[str, List[dict]]:
        """Read the folder once and split it by identity with ``split_seed``."""
        if self._cache is not None:
            return self._cache
        folder = self.split_dir('train')
        if not osp.isdir(folder):
            raise FileNotFoundError(f'{self.DATASET_NAME}: the image folder {folder} does not '
                                    f'exist; expected layout:\n{self.expected_layout()}')
        records = []
        for name in sorted(os.listdir(folder)):
            if name.lower().endswith(self.IMG_EXTS):
                pid, camid = self.parse_name(name)
                records.append(dict(img_path=osp.join(folder, name), pid=pid, camid=camid))
        pids = sorted({r['pid'] for r in records})
        if len(pids) <= self.num_test_ids:
            raise ValueError(f'{self.DATASET_NAME}: {folder} holds {len(pids)} identities, '
                             f'not enough for {self.num_test_ids} test identities')
        order = np.random.default_rng(self.split_seed).permutation(len(pids))
        test_ids = {pids[i] for i in order[:self.num_test_ids]}
        out: Dict[str, List[dict]] = dict(train=[], query=[], gallery=[])
        for rec in records:
            if rec['pid'] not in test_ids:
                out['train'].append(rec)
            else:
                out['query' if rec['camid'] == 0 else 'gallery'].append(rec)
        self._cache = out
        return out

    def list_split(self, split: str) -> List[dict]:
        """Records of one split."""
        return list(self._records_by_split()[split])
