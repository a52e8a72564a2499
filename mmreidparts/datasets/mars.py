"""MARS (Zheng et al., ECCV 2016): video re-identification, tracklets of pedestrian boxes.

Layout under ``data_root`` (the release)::

    bbox_train/<pid>/<pid>C<cam>T<tracklet>F<frame>.jpg    e.g. 0001/0001C1T0001F001.jpg
    bbox_test/<pid>/...                                    pid 00-1: junk boxes
    info/train_name.txt, info/test_name.txt                the image names, in index order
    info/tracks_train_info.mat     [8298 x 4]: start, end (1-based, inclusive), pid, camera
    info/tracks_test_info.mat      [12180 x 4]
    info/query_IDX.mat             [1980]: 1-based rows of tracks_test_info that are queries

(the ``info`` files may also lie in ``data_root`` itself; the ``.mat`` files are read with
scipy.io, or h5py for MATLAB v7.3 files). Without a name list the images of a split are
taken in sorted order. Every record is one frame with ``tracklet_id`` (its row in the
track file); the metric pools the frames of a tracklet (``ReIDMetric(tracklets=...)``).

Protocol (MARS's evaluation code): the queries are the query tracklets; the gallery is
every test tracklet, the queries included (``query_in_gallery=True``), ranked under the
'market' rule, which hides the query's own tracklet (same person, same camera). Junk
tracklets (pid -1) are dropped, which leaves the ranking unchanged (they are ignored);
distractors (pid 0) are kept.
"""
import os
import os.path as osp
from typing import Dict, List, Optional, Tuple

import numpy as np

from mmreidparts.registry import DATASETS

from .base_reid_dataset import BaseReIDDataset

TRACK_FILES = dict(train='tracks_train_info', test='tracks_test_info')
NAME_FILES = dict(train='train_name.txt', test='test_name.txt')


def read_mat_array(path: str, key: str) -> np.ndarray:
    """The array ``key`` of a MATLAB file (scipy.io; h5py for v7.3 files, transposed)."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'MARS: index file {path} does not exist')
    try:
        import scipy.io
        content = scipy.io.loadmat(path)
    except NotImplementedError:  # MATLAB v7.3 is HDF5
        import h5py
        with h5py.File(path, 'r') as f:
            if key not in f:
                raise KeyError(f'{path}: no variable {key!r}; it has {sorted(f.keys())}')
            return np.asarray(f[key]).T
    except ValueError as err:
        raise ValueError(f'{path}: cannot read the MATLAB file ({err})') from None
    if key not in content:
        found = sorted(k for k in content if not k.startswith('__'))
        raise KeyError(f'{path}: no variable {key!r}; it has {found}')
    return np.asarray(content[key])


@DATASETS.register_module()
class MARS(BaseReIDDataset):
    """MARS frames with their tracklet (``tracklet_id``), for image training, video testing.

    Args:
        data_root: the MARS folder.
        info_dir: folder of the name and index files, relative to ``data_root``
            (``'info'``; ``''`` for the root itself).
        query_in_gallery: the query tracklets are also gallery entries (MARS's
            evaluation code, default); False leaves them out of the gallery (as several
            re-implementations do).
        frames_per_tracklet: keep this many frames of each test tracklet, evenly spaced
            (None: all; a small number gives a quick CPU evaluation).
        **kwargs: :class:`BaseReIDDataset` arguments (``mode``, ``pipeline``, ...).
    """

    SPLIT_DIRS = dict(train='bbox_train', query='bbox_test', gallery='bbox_test',
                      test='bbox_test')
    DATASET_NAME = 'mars'
    EVAL_PROTOCOL = 'market'
    # train: 509,914 boxes of 625 ids (the release); the test split holds junk boxes
    EXPECTED_COUNTS = dict(train=(509914, 625))
    NAME_PATTERN = r'^(?P<pid>\d{4}|00-1)C(?P<cam>\d)T(?P<tracklet>\d{4})F(?P<frame>\d{3})'
    NAME_FORMAT = '<pid>C<camera>T<tracklet>F<frame> (e.g. 0001C1T0001F001.jpg)'

    def __init__(self, data_root: str, info_dir: str = 'info', query_in_gallery: bool = True,
                 frames_per_tracklet: Optional[int] = None, **kwargs) -> None:
        if frames_per_tracklet is not None and frames_per_tracklet < 1:
            raise ValueError(f'MARS: frames_per_tracklet must be >= 1 or None, got '
                             f'{frames_per_tracklet}')
        self.info_dir = info_dir
        self.query_in_gallery = query_in_gallery
        self.frames_per_tracklet = frames_per_tracklet
        super().__init__(data_root, **kwargs)

    # ------------------------------------------------------------------ files
    def _info(self, name: str) -> str:
        """Path of an info file: ``<data_root>/<info_dir>/name``, else ``<data_root>/name``."""
        path = osp.join(self.data_root, self.info_dir, name)
        if not osp.isfile(path) and osp.isfile(osp.join(self.data_root, name)):
            return osp.join(self.data_root, name)
        return path

    def expected_layout(self) -> str:
        """Text listing the folders and files MARS needs, for error messages."""
        info = osp.join(self.data_root, self.info_dir)
        return '\n'.join([f'{self.data_root}/', '    bbox_train/<pid>/<name>.jpg',
                          '    bbox_test/<pid>/<name>.jpg',
                          f'    {info}/tracks_train_info.mat, tracks_test_info.mat, '
                          'query_IDX.mat (and train_name.txt, test_name.txt)'])

    def _names(self, split: str) -> List[str]:
        """Image names of ``split`` ('train' or 'test') in the order the track file indexes."""
        folder = osp.join(self.data_root, self.SPLIT_DIRS[split])
        if not osp.isdir(folder):
            raise FileNotFoundError(f'MARS: the folder {folder} does not exist; expected '
                                    f'layout:\n{self.expected_layout()}')
        path = self._info(NAME_FILES[split])
        if osp.isfile(path):
            with open(path, encoding='utf-8') as f:
                return [line.strip() for line in f if line.strip()]
        return sorted(name for _, _, files in os.walk(folder) for name in files
                      if name.lower().endswith(self.IMG_EXTS))

    def _tracks(self, split: str) -> np.ndarray:
        """The track table ``[T, 4]`` (start, end, pid, camera) of a split, checked."""
        key = TRACK_FILES[split]
        tracks = read_mat_array(self._info(key + '.mat'), key.replace('tracks', 'track'))
        if tracks.ndim != 2 or tracks.shape[1] != 4:
            raise ValueError(f'MARS: {self._info(key + ".mat")} holds an array of shape '
                             f'{tracks.shape}; expected [tracklets, 4] (start, end, pid, '
                             'camera)')
        return tracks.astype(np.int64)

    def query_rows(self) -> np.ndarray:
        """0-based rows of the test track table that are queries."""
        rows = read_mat_array(self._info('query_IDX.mat'), 'query_IDX').reshape(-1)
        return rows.astype(np.int64) - 1

    # ------------------------------------------------------------------ records
    def splits(self) -> Tuple[str, ...]:
        """'test' reads the test tracks once (queries flagged), other modes their split."""
        return (self.mode, )

    def _frames(self, names: List[str], start: int, end: int, split: str) -> List[str]:
        """Names of a tracklet's frames (all, or ``frames_per_tracklet`` evenly spaced)."""
        frames = names[start:end]
        if split != 'train' and self.frames_per_tracklet is not None and \
                len(frames) > self.frames_per_tracklet:
            keep = np.linspace(0, len(frames) - 1, self.frames_per_tracklet).round()
            frames = [frames[int(i)] for i in keep]
        return frames

    def list_split(self, split: str) -> List[dict]:
        """Frame records ``img_path, pid, camid, tracklet_id, is_query, in_gallery``."""
        source = 'train' if split == 'train' else 'test'
        names = self._names(source)
        tracks = self._tracks(source)
        queries = set(self.query_rows().tolist()) if source == 'test' else set()
        bad = [r + 1 for r in queries if not 0 <= r < len(tracks)]
        if bad:
            raise ValueError(f'MARS: query_IDX.mat lists rows {bad[:5]} outside the '
                             f'{len(tracks)} test tracklets')
        folder = osp.join(self.data_root, self.SPLIT_DIRS[source])
        records = []
        for row, (start, end, pid, cam) in enumerate(tracks):
            if pid == -1:
                continue  # junk boxes: ignored by the ranking anyway
            is_query = row in queries
            if (split == 'query' and not is_query) or (split == 'gallery' and is_query and
                                                       not self.query_in_gallery):
                continue
            if not 1 <= start <= end <= len(names):
                raise ValueError(f'MARS: tracklet {row + 1} spans images {start}..{end}, '
                                 f'but the {source} split has {len(names)} images')
            frames = self._frames(names, start - 1, end, source)
            self._check_tracklet(frames[0], row, pid, cam, source)
            for name in frames:
                records.append(dict(
                    img_path=osp.join(folder, name[:4], name), pid=int(pid),
                    camid=int(cam) - self.CAMID_OFFSET, tracklet_id=row,
                    is_query=is_query and split in ('query', 'test'),
                    in_gallery=split != 'query' and (not is_query or self.query_in_gallery)))
        return records

    def _check_tracklet(self, name: str, row: int, pid: int, cam: int, split: str) -> None:
        """The first frame's name must carry the tracklet's person and camera."""
        parsed = self.parse_name(name)
        if parsed is None or parsed[0] != pid or parsed[1] != cam - self.CAMID_OFFSET:
            raise ValueError(f'MARS: tracklet {row + 1} of {split} (pid {pid}, camera {cam}) '
                             f'starts with the image {name}: the name list and the track '
                             'file disagree (check the order of the name list)')

    def part_label_path(self, record: dict, split: str) -> str:
        """Label path: ``<label_dir>/<scheme>/<bbox dir>/<pid dir>/<stem><suffix>``."""
        cfg = self.part_labels
        scheme = cfg['source_scheme'] or cfg['scheme']
        folder = osp.basename(osp.dirname(record['img_path']))
        stem = osp.splitext(osp.basename(record['img_path']))[0]
        return osp.join(self.data_root, cfg['label_dir'], scheme, self.SPLIT_DIRS[split],
                        folder, stem + cfg['suffix'])

    def tracklet_counts(self) -> Dict[str, int]:
        """Tracklets of the loaded records: all, queries, gallery."""
        rows = {}
        for i in range(len(self)):
            info = self.get_data_info(i)
            rows[info['tracklet_id']] = (info['is_query'], info['in_gallery'])
        return dict(tracklets=len(rows), queries=sum(q for q, _ in rows.values()),
                    gallery=sum(g for _, g in rows.values()))
