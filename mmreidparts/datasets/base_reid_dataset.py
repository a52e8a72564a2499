"""The base of every re-identification dataset: a Market-1501 style folder per split."""
import os
import os.path as osp
import re
import warnings
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from mmengine.dataset import BaseDataset

from mmreidparts.registry import DATASETS, TRANSFORMS
from mmreidparts.structures.part_schemes import get_part_scheme, regroup_lut

MODES = ('train', 'query', 'gallery', 'test')
CHECK_COUNTS = ('warn', 'error', 'off')
PART_LABEL_DEFAULTS: Dict[str, Any] = dict(
    scheme='bpbreid8', label_dir='masks', source_scheme=None, suffix='.png', optional=False)


def is_image_file(folder: str, name: str, exts: Sequence[str]) -> bool:
    """Whether ``folder/name`` is an image of the dataset: a visible file with one of ``exts``.

    Hidden files (``.DS_Store``, macOS ``._<name>.jpg`` resource forks) and folders are
    not images, whatever their name ends with.
    """
    return (not name.startswith('.') and name.lower().endswith(tuple(exts))
            and osp.isfile(osp.join(folder, name)))


@DATASETS.register_module()
class BaseReIDDataset(BaseDataset):
    """A person re-identification split read from a folder of images.

    The default layout is Market-1501's: one flat image folder per split (``SPLIT_DIRS``),
    file names starting with ``<pid>_c<camera>``. Each record (see docs/design.md) holds
    ``img_path, pid, camid, gt_label, is_query, part_map_path, part_scheme`` and
    ``part_source_scheme`` (the scheme the label file is stored in, or None when it is
    ``part_scheme`` itself). Junk images (pid -1) are dropped; distractors (pid 0) are kept.
    ``metainfo`` holds ``dataset_name``, ``eval_protocol`` (``EVAL_PROTOCOL``, which
    ``ReIDMetric(protocol='auto')`` follows), ``part_scheme``, ``part_names`` and, once
    loaded, ``num_classes``.

    Subclasses declare their layout with the class attributes and may override the hooks
    :meth:`parse_name` (file name -> pid, camid), :meth:`list_split` (split -> records, for
    datasets that are not a flat folder) and :meth:`part_label_path`.

    Args:
        data_root: root folder of the dataset.
        mode: ``'train'``, ``'query'``, ``'gallery'`` or ``'test'`` (query records, then
            gallery records).
        pipeline: transforms (config dicts or callables) applied to each record.
        part_labels: where to find body-part label maps, a dict with keys ``scheme``
            (part scheme of the training target), ``label_dir`` (folder under
            ``data_root``), ``source_scheme`` (scheme the files are stored in, regrouped
            into ``scheme`` when loaded; None = ``scheme``), ``suffix`` and ``optional``
            (a missing file gives ``part_map_path=None`` instead of an error). The file of
            an image is ``<data_root>/<label_dir>/<source_scheme or scheme>/<split
            dir>/<image stem><suffix>``. None: no part labels.
        relabel: map the person ids to ``gt_label`` 0..N-1 in sorted order; default
            ``mode == 'train'``. Without relabelling ``gt_label`` is -1.
        check_counts: what to do when a split's number of images or identities differs
            from ``EXPECTED_COUNTS``: ``'warn'``, ``'error'`` or ``'off'``.
        test_mode: mmengine's test mode; default ``mode != 'train'``.
        lazy_init: defer reading the folders to ``full_init()``.
        **kwargs: other arguments of :class:`mmengine.dataset.BaseDataset`
            (``metainfo``, ``indices``, ``serialize_data``, ``max_refetch``, ...).
    """

    SPLIT_DIRS: Dict[str, str] = dict(
        train='bounding_box_train', query='query', gallery='bounding_box_test')
    IMG_EXTS: Tuple[str, ...] = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff')
    # {split: (num_images, num_ids)} after dropping junk; None for custom data.
    EXPECTED_COUNTS: Optional[Dict[str, Tuple[int, int]]] = None
    DATASET_NAME: str = 'reid'
    # Regular expression with groups ``pid`` and ``cam``, matched against the file stem.
    NAME_PATTERN: str = r'^(?P<pid>-?\d+)_c(?P<cam>\d+)'
    # Human-readable form of NAME_PATTERN for error messages.
    NAME_FORMAT: str = '<pid>_c<camera>... (e.g. 0002_c1s1_000451_03.jpg)'
    # Camera number in the file name minus CAMID_OFFSET gives camid.
    CAMID_OFFSET: int = 1
    # Evaluation protocol of the test split (``mmreidparts.evaluation.functional.ranking``
    # PROTOCOLS); put into ``metainfo['eval_protocol']``, read by ReIDMetric(protocol='auto').
    EVAL_PROTOCOL: str = 'market'

    def __init__(self,
                 data_root: str,
                 mode: str = 'train',
                 pipeline: Sequence[Union[dict, Any]] = (),
                 part_labels: Optional[dict] = None,
                 relabel: Optional[bool] = None,
                 check_counts: str = 'warn',
                 test_mode: Optional[bool] = None,
                 lazy_init: bool = False,
                 **kwargs) -> None:
        if mode not in MODES:
            raise ValueError(f'{type(self).__name__}: mode must be one of {MODES}, '
                             f'got {mode!r}')
        if check_counts not in CHECK_COUNTS:
            raise ValueError(f'{type(self).__name__}: check_counts must be one of '
                             f'{CHECK_COUNTS}, got {check_counts!r}')
        if not isinstance(data_root, str) or not data_root:
            raise TypeError(f'{type(self).__name__}: data_root must be a non-empty path, '
                            f'got {data_root!r}')
        data_root = osp.abspath(osp.expanduser(data_root))
        self.mode = mode
        self.relabel = (mode == 'train') if relabel is None else bool(relabel)
        self.check_counts = check_counts
        self.part_labels = self._check_part_labels(part_labels)
        self.pid2label: Dict[int, int] = {}
        if test_mode is None:
            test_mode = mode != 'train'
        for key in ('ann_file', 'data_prefix'):
            if key in kwargs:
                raise TypeError(f'{type(self).__name__} reads folders, not annotation files: '
                                f'remove {key!r} from its config')
        # Our registry (scope mmreidparts) also finds mmcv's transforms and, with a scope
        # prefix, those of other packages, whatever the current default scope is.
        pipeline = [
            TRANSFORMS.build(dict(t, _scope_=t.get('_scope_', 'mmreidparts')))
            if isinstance(t, dict) else t for t in pipeline
        ]
        super().__init__(
            ann_file='',
            data_root=data_root,
            data_prefix=dict(img_path=''),
            pipeline=pipeline,
            test_mode=test_mode,
            lazy_init=lazy_init,
            **kwargs)
        self._metainfo.update(self._static_metainfo())

    # ------------------------------------------------------------------ configuration
    def _check_part_labels(self, part_labels: Optional[dict]) -> Optional[dict]:
        """Merge ``part_labels`` with the defaults and validate its keys and schemes."""
        if part_labels is None:
            return None
        if not isinstance(part_labels, dict):
            raise TypeError(f'{type(self).__name__}: part_labels must be a dict with keys '
                            f'{sorted(PART_LABEL_DEFAULTS)}, got {part_labels!r}')
        unknown = set(part_labels) - set(PART_LABEL_DEFAULTS)
        if unknown:
            raise KeyError(f'{type(self).__name__}: unknown part_labels key(s) '
                           f'{sorted(unknown)}; expected keys {sorted(PART_LABEL_DEFAULTS)}')
        cfg = dict(PART_LABEL_DEFAULTS, **part_labels)
        get_part_scheme(cfg['scheme'])
        if cfg['source_scheme'] is not None and cfg['source_scheme'] != cfg['scheme']:
            regroup_lut(cfg['source_scheme'], cfg['scheme'])  # raises if not a coarsening
        else:
            cfg['source_scheme'] = None
        return cfg

    def _static_metainfo(self) -> dict:
        """Meta information known before the folders are read."""
        scheme = self.part_labels['scheme'] if self.part_labels else None
        names = get_part_scheme(scheme).names if scheme else ()
        return dict(dataset_name=self.DATASET_NAME, eval_protocol=self.EVAL_PROTOCOL,
                    part_scheme=scheme, part_names=names)

    # ------------------------------------------------------------------ hooks
    def parse_name(self, filename: str) -> Optional[Tuple[int, int]]:
        """Return ``(pid, camid)`` of an image file name, or None for a junk image (pid -1)."""
        stem = osp.splitext(osp.basename(filename))[0]
        match = re.match(self.NAME_PATTERN, stem)
        if match is None:
            raise ValueError(f'{self.DATASET_NAME}: cannot parse the file name {filename!r}; '
                             f'expected {self.NAME_FORMAT}')
        pid = int(match.group('pid'))
        if pid == -1:
            return None
        if pid < -1:
            raise ValueError(f'{self.DATASET_NAME}: negative person id {pid} in {filename!r}')
        return pid, int(match.group('cam')) - self.CAMID_OFFSET

    def split_dir(self, split: str) -> str:
        """Absolute folder of a split (``train``, ``query`` or ``gallery``)."""
        if split not in self.SPLIT_DIRS:
            raise ValueError(f'{self.DATASET_NAME} has no {split!r} split folder; its splits '
                             f'are {sorted(self.SPLIT_DIRS)}')
        return osp.join(self.data_root, self.SPLIT_DIRS[split])

    def _where(self, split: str) -> str:
        """The split's folder for messages (the data root when it has none)."""
        if split in self.SPLIT_DIRS:
            return f'the {split} folder {self.split_dir(split)}'
        return f'the {split} split of {self.data_root}'

    def expected_layout(self) -> str:
        """Text listing the folders this dataset expects, for error messages."""
        lines = [f'{self.data_root}/']
        lines += [f'    {d}/   ({s} images)' for s, d in self.SPLIT_DIRS.items()]
        if self.part_labels:
            c = self.part_labels
            scheme = c['source_scheme'] or c['scheme']
            lines.append(f'    {c["label_dir"]}/{scheme}/<split dir>/<image stem>{c["suffix"]}'
                         '   (part labels)')
        return '\n'.join(lines)

    def list_split(self, split: str) -> List[dict]:
        """Return the records (``img_path, pid, camid``) of one split, junk dropped."""
        folder = self.split_dir(split)
        if not osp.isdir(folder):
            raise FileNotFoundError(
                f'{self.DATASET_NAME}: the {split} folder {folder} does not exist; '
                f'expected layout:\n{self.expected_layout()}')
        records = []
        for name in sorted(os.listdir(folder)):
            if not is_image_file(folder, name, self.IMG_EXTS):
                continue
            parsed = self.parse_name(name)
            if parsed is None:
                continue
            pid, camid = parsed
            records.append(dict(img_path=osp.join(folder, name), pid=pid, camid=camid))
        return records

    def part_label_path(self, record: dict, split: str) -> str:
        """Path of the part label file of a record (it need not exist)."""
        cfg = self.part_labels
        scheme = cfg['source_scheme'] or cfg['scheme']
        stem = osp.splitext(osp.basename(record['img_path']))[0]
        return osp.join(self.data_root, cfg['label_dir'], scheme,
                        self.SPLIT_DIRS.get(split, split), stem + cfg['suffix'])

    # ------------------------------------------------------------------ loading
    def splits(self) -> Tuple[str, ...]:
        """The splits read for this dataset's mode."""
        return ('query', 'gallery') if self.mode == 'test' else (self.mode, )

    def load_data_list(self) -> List[dict]:
        """Read the split folder(s) of ``mode`` and return one record per image."""
        if not osp.isdir(self.data_root):
            raise FileNotFoundError(
                f'{self.DATASET_NAME}: data_root {self.data_root} does not exist; '
                f'expected layout:\n{self.expected_layout()}')
        data_list: List[dict] = []
        for split in self.splits():
            records = self.list_split(split)
            if not records:
                raise ValueError(
                    f'{self.DATASET_NAME}: no images ({"/".join(self.IMG_EXTS)}) found in '
                    f'{self._where(split)}')
            self._check_split_counts(split, records)
            for rec in records:
                rec.setdefault('is_query', split == 'query')
                self._add_part_label(rec, split)
            data_list.extend(records)

        pids = sorted({rec['pid'] for rec in data_list})
        self.pid2label = {pid: i for i, pid in enumerate(pids)} if self.relabel else {}
        for rec in data_list:
            rec['gt_label'] = self.pid2label[rec['pid']] if self.relabel else -1
        self._metainfo.update(self._static_metainfo())
        self._metainfo['num_classes'] = len(pids)
        return data_list

    def _add_part_label(self, record: dict, split: str) -> None:
        """Fill ``part_map_path``, ``part_scheme`` and ``part_source_scheme`` of a record."""
        cfg = self.part_labels
        if cfg is None:
            record.update(part_map_path=None, part_scheme=None, part_source_scheme=None)
            return
        path = record.get('part_map_path') or self.part_label_path(record, split)
        if not osp.isfile(path):
            if not cfg['optional']:
                raise FileNotFoundError(
                    f'{self.DATASET_NAME}: part label file {path} (of image '
                    f'{record["img_path"]}) does not exist; expected layout:\n'
                    f'{self.expected_layout()}\nSet part_labels=dict(..., optional=True) to '
                    'train with an ignore map where labels are missing.')
            path = None
        record.update(part_map_path=path, part_scheme=cfg['scheme'],
                      part_source_scheme=cfg['source_scheme'])

    def _check_split_counts(self, split: str, records: List[dict]) -> None:
        """Compare a split's image and identity counts with ``EXPECTED_COUNTS``."""
        if self.check_counts == 'off' or not self.EXPECTED_COUNTS:
            return
        expected = self.EXPECTED_COUNTS.get(split)
        if expected is None:
            return
        found = (len(records), len({r['pid'] for r in records}))
        if found == tuple(expected):
            return
        msg = (f'{self.DATASET_NAME}: {self._where(split)} holds '
               f'{found[0]} images of {found[1]} identities, expected {expected[0]} images '
               f'of {expected[1]} identities (junk images with pid -1 excluded). Set '
               "check_counts='off' for a modified copy of the dataset.")
        if self.check_counts == 'error':
            raise ValueError(msg)
        warnings.warn(msg)

    # ------------------------------------------------------------------ queries
    def get_pids(self) -> List[int]:
        """Person id of every record, in index order (used by the identity sampler)."""
        return [self.get_data_info(i)['pid'] for i in range(len(self))]

    def __repr__(self) -> str:
        """Short summary: dataset name, mode, number of images and identities."""
        if not self._fully_initialized:
            return f'{type(self).__name__}(mode={self.mode!r}, not loaded)'
        return (f'{type(self).__name__}(mode={self.mode!r}, images={len(self)}, '
                f'ids={len(set(self.get_pids()))}, data_root={self.data_root!r})')
