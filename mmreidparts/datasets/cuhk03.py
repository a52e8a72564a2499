"""CUHK03 (Li et al., CVPR 2014): the new protocol (CUHK03-NP) and the classic 20 splits."""
import os
import os.path as osp
import warnings
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from mmreidparts.registry import DATASETS

from .base_reid_dataset import BaseReIDDataset

SUBSETS = ('detected', 'labeled')


@DATASETS.register_module()
class CUHK03NP(BaseReIDDataset):
    """CUHK03-NP: the new protocol of Zhong et al. (CVPR 2017), 767 training / 700 test ids.

    Layout (the authors' ``cuhk03-np`` release)::

        <data_root>/detected/{bounding_box_train,query,bounding_box_test}/PPPP_cC_*.png
        <data_root>/labeled/{bounding_box_train,query,bounding_box_test}/PPPP_cC_*.png

    ``subset`` picks the detected (DPM) or the hand-labelled boxes. Expected counts:
    detected train 7365 images / 767 ids, query 1400 / 700, gallery 5332 / 700; labeled
    train 7368 / 767, query 1400 / 700, gallery 5328 / 700. Cameras 1, 2 give camid 0, 1.

    Protocol ``'market'``: gallery images with the query's id and camera are ignored.
    Part labels: ``<data_root>/masks/<scheme>/<subset>/<split dir>/<stem>.png``.
    """

    DATASET_NAME = 'cuhk03_np'
    EVAL_PROTOCOL = 'market'
    NAME_PATTERN = r'^(?P<pid>\d+)_c(?P<cam>\d+)'
    NAME_FORMAT = 'PPPP_cC_<n>.png (e.g. 0001_c1_1.png)'
    COUNTS = dict(
        detected=dict(train=(7365, 767), query=(1400, 700), gallery=(5332, 700)),
        labeled=dict(train=(7368, 767), query=(1400, 700), gallery=(5328, 700)))

    def __init__(self, data_root: str, subset: str = 'detected', **kwargs) -> None:
        if subset not in SUBSETS:
            raise ValueError(f'CUHK03NP: subset must be one of {SUBSETS}, got {subset!r}')
        self.subset = subset
        self.SPLIT_DIRS = {k: osp.join(subset, v) for k, v in BaseReIDDataset.SPLIT_DIRS.items()}
        self.EXPECTED_COUNTS = self.COUNTS[subset]
        self.DATASET_NAME = f'cuhk03_np_{subset}'
        super().__init__(data_root, **kwargs)


def _require_h5py():
    """Import h5py or explain how to install it."""
    try:
        import h5py
    except ImportError:
        raise ImportError('CUHK03Classic reads cuhk-03.mat (MATLAB v7.3, HDF5) with h5py: '
                          'pip install h5py') from None
    return h5py


def extract_cuhk03_mat(mat_path: str, out_dir: str, subset: str) -> List[Tuple[int, int, int]]:
    """Write the ``subset`` images of ``cuhk-03.mat`` as PNG files into ``out_dir``.

    Names are ``<pair>_<person:04d>_<view>_<image:02d>.png`` (all 1-based; view 1 = images
    1-5 of the first camera of the pair, view 2 = images 6-10). Returns the number of
    persons of each camera pair as ``[(pair, num_persons, num_images)]``. A file
    ``.complete`` marks a finished extraction, which later calls reuse.
    """
    h5py = _require_h5py()
    done = osp.join(out_dir, '.complete')
    os.makedirs(out_dir, exist_ok=True)
    with h5py.File(mat_path, 'r') as mat:
        if subset not in mat:
            raise KeyError(f'{mat_path} has no {subset!r} entry; found {sorted(mat.keys())} '
                           "(expected the CUHK03 release's cuhk-03.mat)")
        pairs = []
        write = not osp.isfile(done)
        for pair, pair_ref in enumerate(np.asarray(mat[subset]).reshape(-1), start=1):
            cells = np.asarray(mat[pair_ref]).T  # [num_persons, 10] references
            if cells.ndim != 2 or cells.shape[1] != 10:
                raise ValueError(f'{mat_path}: camera pair {pair} of {subset!r} holds cells '
                                 f'of shape {cells.shape}; expected [persons, 10]')
            count = 0
            for person, refs in enumerate(cells, start=1):
                for image, ref in enumerate(refs, start=1):
                    img = np.asarray(mat[ref]).T  # [H, W, 3] RGB, or an empty placeholder
                    if img.ndim != 3 or img.size == 0:
                        continue
                    count += 1
                    if write:
                        view = 1 if image <= 5 else 2
                        name = f'{pair}_{person:04d}_{view}_{image:02d}.png'
                        cv2.imwrite(osp.join(out_dir, name),
                                    np.ascontiguousarray(img[:, :, ::-1]))
            pairs.append((pair, len(cells), count))
    if write:
        open(done, 'w').close()
    return pairs


def read_cuhk03_testsets(mat_path: str) -> List[List[Tuple[int, int]]]:
    """The 20 classic test sets of ``cuhk-03.mat``: lists of ``(pair, person)``, 1-based."""
    h5py = _require_h5py()
    with h5py.File(mat_path, 'r') as mat:
        if 'testsets' not in mat:
            raise KeyError(f'{mat_path} has no testsets entry; found {sorted(mat.keys())}')
        out = []
        for ref in np.asarray(mat['testsets']).reshape(-1):
            rows = np.asarray(mat[ref]).T  # [num_test, 2]
            if rows.ndim != 2 or rows.shape[1] != 2:
                raise ValueError(f'{mat_path}: a test set has shape {rows.shape}; expected '
                                 '[ids, 2] rows of (camera pair, person)')
            out.append([(int(a), int(b)) for a, b in rows])
    return out


@DATASETS.register_module()
class CUHK03Classic(BaseReIDDataset):
    """CUHK03 with the classic protocol of DeepReID: 20 random splits of 100 test ids.

    Layout: the authors' ``cuhk-03.mat`` (MATLAB v7.3, read with h5py) in ``data_root``
    or ``data_root/cuhk03_release``. It holds the ``detected`` and ``labeled`` images of
    5 camera pairs (843, 440, 77, 58 and 49 persons, up to 5 images per camera) and
    ``testsets``, 20 lists of 100 (camera pair, person) test ids. On first use the images
    of ``subset`` are written as PNG files to ``<extract_dir or
    data_root>/cuhk03_classic_images/<subset>/``.

    ``split_index`` picks the test set; the training ids are all other persons of
    ``camera_pairs`` (default pairs 1-3, the 1360 identities of DeepReID: 1260 training
    ids; all five pairs give 1367). Person ids are global, numbered over all pairs in file
    order; the camid of view ``v`` (1, 2) of pair ``c`` is ``2 (c - 1) + v - 1``. Queries
    are the test ids' first-view images, the gallery their second-view images.

    Protocol ``'cuhk03_classic'``: single-gallery-shot CMC, one random gallery image per
    identity, averaged over repeated draws (then over the 20 splits).
    """

    DATASET_NAME = 'cuhk03_classic'
    EVAL_PROTOCOL = 'cuhk03_classic'
    SPLIT_DIRS = dict(train='cuhk03_classic_images', query='cuhk03_classic_images',
                      gallery='cuhk03_classic_images')
    EXPECTED_COUNTS = None
    MAT_NAMES = ('cuhk-03.mat', osp.join('cuhk03_release', 'cuhk-03.mat'))
    NUM_TEST_IDS = 100

    def __init__(self,
                 data_root: str,
                 subset: str = 'detected',
                 split_index: int = 0,
                 camera_pairs: Sequence[int] = (1, 2, 3),
                 extract_dir: Optional[str] = None,
                 **kwargs) -> None:
        if subset not in SUBSETS:
            raise ValueError(f'CUHK03Classic: subset must be one of {SUBSETS}, got {subset!r}')
        if not 0 <= split_index < 20:
            raise ValueError(f'CUHK03Classic: split_index must be in 0..19, got {split_index}')
        self.subset = subset
        self.split_index = split_index
        self.camera_pairs = tuple(int(c) for c in camera_pairs)
        self.extract_dir = extract_dir
        self.DATASET_NAME = f'cuhk03_classic_{subset}'
        self.SPLIT_DIRS = {k: osp.join('cuhk03_classic_images', subset) for k in
                           ('train', 'query', 'gallery')}
        self._cache: Optional[Dict[str, List[dict]]] = None
        super().__init__(data_root, **kwargs)

    def mat_path(self) -> str:
        """Path of ``cuhk-03.mat`` (error naming the places looked at)."""
        for name in self.MAT_NAMES:
            path = osp.join(self.data_root, name)
            if osp.isfile(path):
                return path
        raise FileNotFoundError(f'{self.DATASET_NAME}: cuhk-03.mat not found; looked for '
                                f'{[osp.join(self.data_root, n) for n in self.MAT_NAMES]}')

    def split_dir(self, split: str) -> str:
        """Folder of the extracted images of ``subset``."""
        root = self.extract_dir or self.data_root
        return osp.join(root, 'cuhk03_classic_images', self.subset)

    def _records_by_split(self) -> Dict[str, List[dict]]:
        """Extract (once) and split all images into train / query / gallery records."""
        if self._cache is not None:
            return self._cache
        mat = self.mat_path()
        out_dir = self.split_dir('train')
        pairs = extract_cuhk03_mat(mat, out_dir, self.subset)
        known = {p for p, _, _ in pairs}
        bad = [c for c in self.camera_pairs if c not in known]
        if bad:
            raise ValueError(f'{self.DATASET_NAME}: camera_pairs {bad} not in {mat} (it has '
                             f'pairs {sorted(known)})')
        offsets, total = {}, 0
        for pair, num, _ in pairs:
            offsets[pair] = total
            total += num
        test = read_cuhk03_testsets(mat)
        if len(test) <= self.split_index:
            raise ValueError(f'{self.DATASET_NAME}: {mat} holds {len(test)} test sets, '
                             f'split_index {self.split_index} does not exist')
        test_ids = {offsets[p] + n - 1 for p, n in test[self.split_index]}
        outside = [(p, n) for p, n in test[self.split_index] if p not in self.camera_pairs]
        if outside:
            raise ValueError(f'{self.DATASET_NAME}: test set {self.split_index} holds ids of '
                             f'camera pairs outside camera_pairs={self.camera_pairs}, e.g. '
                             f'{outside[0]}')
        out: Dict[str, List[dict]] = dict(train=[], query=[], gallery=[])
        for name in sorted(os.listdir(out_dir)):
            if not name.endswith('.png'):
                continue
            pair, person, view, _ = (int(v) for v in name[:-4].split('_'))
            if pair not in self.camera_pairs:
                continue
            pid = offsets[pair] + person - 1
            rec = dict(img_path=osp.join(out_dir, name), pid=pid,
                       camid=2 * (pair - 1) + view - 1)
            split = 'train' if pid not in test_ids else ('query' if view == 1 else 'gallery')
            out[split].append(rec)
        self._check_ids(out, sum(n for p, n, _ in pairs if p in self.camera_pairs))
        self._cache = out
        return out

    def _check_ids(self, out: Dict[str, List[dict]], num_ids: int) -> None:
        """Check the identity counts of the split (100 test ids, the rest training)."""
        if self.check_counts == 'off':
            return
        expected = dict(train=num_ids - self.NUM_TEST_IDS, query=self.NUM_TEST_IDS,
                        gallery=self.NUM_TEST_IDS)
        for split, num in expected.items():
            found = len({r['pid'] for r in out[split]})
            if found != num:
                msg = (f'{self.DATASET_NAME}: split {self.split_index} has {found} {split} '
                       f'identities, expected {num}')
                if self.check_counts == 'error':
                    raise ValueError(msg)
                warnings.warn(msg)

    def list_split(self, split: str) -> List[dict]:
        """Records of one split of the classic protocol."""
        return list(self._records_by_split()[split])
