"""Market-1501+500k (Zheng et al., ICCV 2015): Market-1501 with 500k gallery distractors."""
import os
import os.path as osp
from typing import List, Optional

import numpy as np

from mmreidparts.registry import DATASETS

from .market1501 import Market1501


@DATASETS.register_module()
class Market1501Distractors(Market1501):
    """Market-1501 whose gallery also holds the released 500k distractor images.

    Layout: Market-1501's (``bounding_box_train/``, ``query/``, ``bounding_box_test/``)
    plus ``<data_root>/bounding_box_test_500k/`` (``distractor_dir``) with the distractor
    images, read recursively; their names are not parsed. Every distractor gets pid 0 (a
    distractor identity, as Market's own ``0000`` images) and camid
    ``DISTRACTOR_CAMID`` = 6, a camera no query has.

    ``num_distractors`` None adds all (500000 expected); a number adds that many, drawn
    with ``seed`` (the paper's galleries of 119,732 / 219,732 / 519,732 images use 100k,
    200k and all 500k; 19,732 counts Market's junk images, which are dropped here).
    Expected gallery count: 15913 + the distractors, 751 ids. Train and query as
    Market-1501. Protocol ``'market'``.
    """

    DATASET_NAME = 'market1501_500k'
    EVAL_PROTOCOL = 'market'
    DISTRACTOR_CAMID = 6
    NUM_RELEASED = 500000

    def __init__(self,
                 data_root: str,
                 distractor_dir: str = 'bounding_box_test_500k',
                 num_distractors: Optional[int] = None,
                 seed: int = 0,
                 **kwargs) -> None:
        if num_distractors is not None and num_distractors < 0:
            raise ValueError(f'Market1501Distractors: num_distractors must be >= 0 or None, '
                             f'got {num_distractors}')
        self.distractor_dir = distractor_dir
        self.num_distractors = num_distractors
        self.seed = seed
        added = self.NUM_RELEASED if num_distractors is None else num_distractors
        base = Market1501.EXPECTED_COUNTS
        self.EXPECTED_COUNTS = dict(base, gallery=(base['gallery'][0] + added,
                                                   base['gallery'][1]))
        super().__init__(data_root, **kwargs)

    def list_distractors(self) -> List[str]:
        """Sorted paths of the distractor images used (all, or a seeded subset)."""
        folder = osp.join(self.data_root, self.distractor_dir)
        if not osp.isdir(folder):
            raise FileNotFoundError(f'{self.DATASET_NAME}: the distractor folder {folder} does '
                                    'not exist; put the 500k distractor images there or set '
                                    'num_distractors=0')
        paths = sorted(
            osp.join(root, name) for root, _, names in os.walk(folder) for name in names
            if name.lower().endswith(self.IMG_EXTS))
        if self.num_distractors is None:
            return paths
        if self.num_distractors > len(paths):
            raise ValueError(f'{self.DATASET_NAME}: {self.num_distractors} distractors asked '
                             f'for, {folder} holds {len(paths)}')
        rng = np.random.default_rng(self.seed)
        chosen = np.sort(rng.choice(len(paths), self.num_distractors, replace=False))
        return [paths[i] for i in chosen]

    def list_split(self, split: str) -> List[dict]:
        """Market-1501's records; the gallery also gets the distractors (pid 0)."""
        records = super().list_split(split)
        if split == 'gallery' and self.num_distractors != 0:
            records += [dict(img_path=p, pid=0, camid=self.DISTRACTOR_CAMID)
                        for p in self.list_distractors()]
        return records

    def part_label_path(self, record: dict, split: str) -> str:
        """Label path; distractors use ``<label_dir>/<scheme>/<distractor_dir>/<stem>``."""
        path = super().part_label_path(record, split)
        folder = osp.join(self.data_root, self.distractor_dir)
        if record['img_path'].startswith(folder + os.sep):
            cfg = self.part_labels
            scheme = cfg['source_scheme'] or cfg['scheme']
            stem = osp.splitext(osp.basename(record['img_path']))[0]
            path = osp.join(self.data_root, cfg['label_dir'], scheme, self.distractor_dir,
                            stem + cfg['suffix'])
        return path
