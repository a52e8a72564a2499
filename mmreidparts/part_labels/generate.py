"""Run a label backend over a dataset: resumable, parallel, atomic, with a JSON summary.

Layout (docs/design.md): ``<out_root>/<scheme>/<split>/<image stem>.png`` (uint8 ids,
0 = background), ``<out_root>/<scheme>/summary.json``; ``out_root`` defaults to
``<data_root>/masks``. An image whose label files exist for every requested scheme is
skipped (its statistics are read back from the files), so an interrupted run resumes
where it stopped. Files are written to a temporary name in the target folder and renamed,
so no partial label file ever exists. Unreadable inputs are listed in the summary and
no label file is written for them (a later run retries them).

With ``keypoint_dir`` the pose keypoints the backend found are saved too, one COCO keypoint
JSON per split (``<keypoint_dir>/<split>.json``, :mod:`.coco_keypoints`, the layout the
``keypoints`` backend reads; an image without a person is listed without annotation). An
image is finished when its label files exist and the split's JSON lists it: one whose
labels exist but whose keypoints are missing is run through the backend again for its
keypoints, its label files left as they are. The JSON files are rewritten (atomically)
every ``KEYPOINT_FLUSH`` images and at the end, so an interrupted run keeps most of them.
"""
import json
import logging
import multiprocessing as mp
import os
import os.path as osp
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from mmreidparts.structures.part_schemes import PartScheme, get_part_scheme
from mmreidparts.utils.fileio import write_bytes_atomic as _write_bytes_atomic

from .backends import (
    IMAGE_EXTENSIONS,
    LabelTask,
    PartLabelBackend,
    UnreadableInputError,
    field_stem,
)

logger = logging.getLogger('mmreidparts.part_labels')

DEFAULT_SPLITS: Tuple[str, ...] = ('bounding_box_train', 'query', 'bounding_box_test')
TMP_PREFIX = '.partlabel-'
KEYPOINT_FLUSH = 500  # images between two rewrites of the keypoint files
_UMASK = os.umask(0)
os.umask(_UMASK)


def _list_files(folder: str, extensions: Sequence[str]) -> List[str]:
    """Files under ``folder`` (recursive) with one of ``extensions``, relative, sorted."""
    out = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith('.'))
        for name in files:
            if name.lower().endswith(tuple(extensions)) and not name.startswith('.'):
                out.append(osp.relpath(osp.join(root, name), folder))
    return sorted(out)


def collect_tasks(data_root: str, splits: Optional[Sequence[str]] = None,
                  input_kind: str = 'image', field_root: Optional[str] = None,
                  limit: Optional[int] = None) -> List[LabelTask]:
    """Inputs to label, in a deterministic order.

    Args:
        data_root: dataset folder holding one folder per split.
        splits: split folders; default: those of :data:`DEFAULT_SPLITS` that exist.
        input_kind: ``'image'`` (images of ``<data_root>/<split>``) or ``'pifpaf'``
            (``.npy`` files of ``<field_root>/<split>``).
        field_root: folder of the PifPaf field files (``'pifpaf'`` only).
        limit: keep at most this many inputs, evenly spaced over the sorted list.
    """
    src_root = data_root if input_kind == 'image' else field_root
    if src_root is None or not osp.isdir(src_root):
        what = 'the dataset root' if input_kind == 'image' else 'the PifPaf field folder'
        raise FileNotFoundError(f'{src_root}: input folder not found (expected {what})')
    if splits is None:
        splits = [s for s in DEFAULT_SPLITS if osp.isdir(osp.join(src_root, s))]
        if not splits:
            raise FileNotFoundError(f'{src_root}: none of the split folders {DEFAULT_SPLITS} '
                                    f'exists; pass the split folder names explicitly')
    tasks: List[LabelTask] = []
    for split in splits:
        folder = osp.join(src_root, split)
        if not osp.isdir(folder):
            raise FileNotFoundError(f'{folder}: split folder {split!r} not found')
        if input_kind == 'image':
            for rel in _list_files(folder, IMAGE_EXTENSIONS):
                src = osp.join(folder, rel)
                tasks.append(LabelTask(split, src, rel, osp.splitext(rel)[0], src))
        else:
            for rel in _list_files(folder, ('.npy', )):
                out = osp.join(osp.dirname(rel), field_stem(rel))
                image = None
                for ext in ('.jpg', '.png', '.jpeg'):
                    cand = osp.join(data_root, split, out + ext)
                    if osp.isfile(cand):
                        image = cand
                        break
                tasks.append(LabelTask(split, osp.join(folder, rel), rel, out, image))
    if limit is not None and 0 <= limit < len(tasks):
        keep = np.unique(np.linspace(0, len(tasks) - 1, limit).round().astype(int)) \
            if limit > 0 else []
        tasks = [tasks[i] for i in keep]
    return tasks


def write_png_atomic(path: str, labels: np.ndarray) -> None:
    """Write a uint8 label map ``[H, W]`` as PNG via a temporary file and ``os.replace``."""
    import cv2
    ok, buf = cv2.imencode('.png', np.ascontiguousarray(labels, dtype=np.uint8))
    if not ok:
        raise OSError(f'{path}: PNG encoding failed')
    write_bytes_atomic(path, buf.tobytes())


def write_bytes_atomic(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temporary files named ``TMP_PREFIX*.tmp``)."""
    _write_bytes_atomic(path, data, tmp_prefix=TMP_PREFIX)


def read_label_map(path: str) -> np.ndarray:
    """Read a label PNG as ``[H, W]`` uint8, or raise a ValueError naming the file."""
    import cv2
    labels = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if labels is None or labels.ndim != 2 or labels.dtype != np.uint8:
        raise ValueError(f'{path}: expected a single-channel uint8 label PNG')
    return labels


@dataclass
class TaskResult:
    """What one worker reports for one input."""
    task: LabelTask
    status: str  # 'done', 'skipped' or 'unreadable'
    counts: Dict[str, List[int]] = field(default_factory=dict)  # scheme -> [K+1] pixel counts
    seconds: float = 0.0
    error: str = ''
    keypoints: Optional[dict] = None  # dict(height, width, people=[[17, 3]]) when saved


_WORKER: dict = {}


def _init_worker(backend: PartLabelBackend, schemes: Sequence[str], out_root: str,
                 keypoints: bool = False) -> None:
    """Per-process initialisation: set the backend up once."""
    backend.setup()
    _WORKER.update(backend=backend, schemes=[get_part_scheme(s) for s in schemes],
                   out_root=out_root, keypoints=keypoints)


def output_path(out_root: str, scheme: str, task: LabelTask) -> str:
    """Label file of ``task`` for ``scheme``."""
    return osp.join(out_root, scheme, task.split, task.out + '.png')


def _counts(labels: np.ndarray, scheme: PartScheme) -> List[int]:
    """Pixel count of every id ``[K + 1]`` of a label map."""
    return np.bincount(labels.ravel(), minlength=scheme.num_parts + 1)[:scheme.num_parts + 1] \
        .tolist()


def _existing(task: LabelTask, schemes: Sequence[PartScheme],
              out_root: str) -> Optional[TaskResult]:
    """A 'skipped' result read from the files of ``task`` when they all exist, else None."""
    paths = [output_path(out_root, s.name, task) for s in schemes]
    if not all(osp.isfile(p) for p in paths):
        return None
    try:
        counts = {s.name: _counts(read_label_map(p), s) for s, p in zip(schemes, paths)}
    except ValueError:
        return None  # an unreadable existing file is regenerated
    return TaskResult(task, 'skipped', counts)


def _process(task: LabelTask) -> TaskResult:
    """Label one input in a worker and write its files atomically (existing ones are kept)."""
    backend: PartLabelBackend = _WORKER['backend']
    schemes: List[PartScheme] = _WORKER['schemes']
    start = time.perf_counter()
    kps = None
    try:
        if _WORKER.get('keypoints'):
            maps, kps = backend.label_maps_and_keypoints(task, schemes)
        else:
            maps = backend.label_maps(task, schemes)
    except UnreadableInputError as e:
        return TaskResult(task, 'unreadable', error=str(e))
    existing = _existing(task, schemes, _WORKER['out_root'])
    if existing is None:
        for s in schemes:
            write_png_atomic(output_path(_WORKER['out_root'], s.name, task), maps[s.name])
        counts = {s.name: _counts(maps[s.name], s) for s in schemes}
    else:  # only the keypoints were missing
        counts = existing.counts
    result = TaskResult(task, 'done', counts, time.perf_counter() - start)
    if _WORKER.get('keypoints'):
        h, w = next(iter(maps.values())).shape[:2]
        people = [] if kps is None else [np.asarray(kps, dtype=np.float64).tolist()]
        result.keypoints = dict(height=h, width=w, people=people)
    return result


class KeypointStore:
    """The COCO keypoint files of a run: what they held, plus what the run found."""

    def __init__(self, keypoint_dir: str, splits: Sequence[str]) -> None:
        from .coco_keypoints import read_skeletons
        self.keypoint_dir = keypoint_dir
        self.entries: Dict[str, Dict[str, dict]] = {}
        for split in splits:
            path = self.path(split)
            self.entries[split] = read_skeletons(path) if osp.isfile(path) else {}
        self.dirty: set = set()

    def path(self, split: str) -> str:
        """The keypoint file of a split."""
        return osp.join(self.keypoint_dir, f'{split}.json')

    def has(self, task: LabelTask) -> bool:
        """Whether the file of the task's split lists its image."""
        return osp.normpath(task.name) in self.entries.get(task.split, {})

    def add(self, result: TaskResult) -> None:
        """Record the keypoints of a finished task."""
        if result.keypoints is None:
            return
        entry = dict(result.keypoints)
        entry['people'] = [np.asarray(p, dtype=np.float64) for p in entry['people']]
        self.entries.setdefault(result.task.split, {})[osp.normpath(result.task.name)] = entry
        self.dirty.add(result.task.split)

    def flush(self) -> None:
        """Rewrite the files of the splits that changed."""
        from .coco_keypoints import skeletons_document
        for split in sorted(self.dirty):
            doc = skeletons_document(self.entries[split],
                                     f'pose keypoints of {split} (mmreidparts label generator)')
            write_bytes_atomic(self.path(split), json.dumps(doc).encode('utf-8'))
        self.dirty.clear()


def remove_stale_temporaries(out_root: str, schemes: Sequence[str]) -> int:
    """Delete temporary files left by an interrupted run; return how many were removed."""
    removed = 0
    for scheme in schemes:
        for root, _, files in os.walk(osp.join(out_root, scheme)):
            for name in files:
                if name.startswith(TMP_PREFIX) and name.endswith('.tmp'):
                    os.unlink(osp.join(root, name))
                    removed += 1
    return removed


def summarize(results: Sequence[TaskResult], scheme: PartScheme) -> dict:
    """Counts and per-part coverage of one scheme over ``results``.

    ``coverage[part]``: ``pixel_share`` is the mean share of image pixels the part covers
    over images with a person; ``image_share`` is the share of those images where the part
    is present.
    """
    labelled = [r for r in results if r.status != 'unreadable']
    counts = np.array([r.counts[scheme.name] for r in labelled], dtype=np.float64) \
        .reshape(-1, scheme.num_parts + 1)  # [N, K+1]
    person = counts[:, 1:].sum(axis=1) > 0  # [N]
    share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)  # [N, K+1]
    found = share[person]
    coverage = {}
    for k, name in enumerate(scheme.names, start=1):
        coverage[name] = dict(
            pixel_share=round(float(found[:, k].mean()), 4) if len(found) else 0.0,
            image_share=round(float((found[:, k] > 0).mean()), 4) if len(found) else 0.0)
    return dict(
        images=len(results), labelled=len(labelled), with_person=int(person.sum()),
        no_person=int((~person).sum()),
        person_found_share=round(float(person.mean()), 4) if len(labelled) else 0.0,
        foreground_pixel_share=round(float(1 - found[:, 0].mean()), 4) if len(found) else 0.0,
        coverage=coverage)


def run_generation(backend: PartLabelBackend, data_root: str, schemes: Sequence[str],
                   splits: Optional[Sequence[str]] = None, out_root: Optional[str] = None,
                   workers: int = 1, limit: Optional[int] = None,
                   field_root: Optional[str] = None, progress: bool = True,
                   tasks: Optional[Sequence[LabelTask]] = None,
                   keypoint_dir: Optional[str] = None) -> dict:
    """Label a dataset with ``backend`` for every scheme in ``schemes``; return the summary.

    Args:
        backend: the label backend (set up in each worker).
        data_root: dataset root (``<data_root>/<split>/<images>``).
        schemes: part scheme names to write (e.g. ``['bpbreid8', 'pal7', 'atoms13']``).
        splits: split folders; default: the Market-1501 ones that exist.
        out_root: root of the label folders; default ``<data_root>/masks``.
        workers: processes; ``<= 1`` labels in this process.
        limit: label at most this many inputs (evenly spaced sample).
        field_root: folder of PifPaf ``.npy`` files, for the ``pifpaf`` backend.
        progress: show a tqdm progress bar.
        tasks: explicit inputs (overrides ``splits``/``limit``).
        keypoint_dir: also save the pose keypoints the backend found there, one COCO
            keypoint JSON per split (the backend must have ``finds_keypoints``).
    """
    from tqdm import tqdm
    scheme_objs = [get_part_scheme(s) for s in schemes]
    if not scheme_objs:
        raise ValueError('no part scheme requested')
    backend.check_schemes(scheme_objs)
    out_root = out_root or osp.join(data_root, 'masks')
    if tasks is None:
        tasks = collect_tasks(data_root, splits, backend.input_kind, field_root, limit)
    tasks = list(tasks)
    store = None
    if keypoint_dir is not None:
        if not backend.finds_keypoints:
            raise ValueError(f'the {backend.name} label backend finds no pose keypoints to '
                             'save; use the mediapipe or keypoints backend')
        store = KeypointStore(keypoint_dir, sorted({t.split for t in tasks}))
    stale = remove_stale_temporaries(out_root, schemes)
    if stale:
        logger.info('removed %d temporary files of an interrupted run', stale)
    start = time.perf_counter()
    results: List[TaskResult] = []
    pending: List[LabelTask] = []
    for task in tasks:  # finished inputs are counted from their files, without a worker
        res = _existing(task, scheme_objs, out_root)
        if res is None or (store is not None and not store.has(task)):
            pending.append(task)
        else:
            results.append(res)
    bar = tqdm(total=len(pending), desc=f'part labels ({backend.name})', disable=not progress,
               unit='img', dynamic_ncols=True)
    init_args = (backend, list(schemes), out_root, store is not None)
    setup_s = None

    def collect(res: TaskResult) -> None:
        results.append(_report(res))
        bar.update()
        if store is not None:
            store.add(res)
            if len(results) % KEYPOINT_FLUSH == 0:
                store.flush()

    try:
        if pending and workers <= 1:
            setup_start = time.perf_counter()
            _init_worker(*init_args)
            setup_s = round(time.perf_counter() - setup_start, 2)
            for task in pending:
                collect(_process(task))
        elif pending:
            ctx = mp.get_context('spawn')
            with ctx.Pool(min(workers, len(pending)), initializer=_init_worker,
                          initargs=init_args) as pool:
                for res in pool.imap_unordered(_process, pending, chunksize=4):
                    collect(res)
    finally:
        bar.close()
        _WORKER.clear()
        if store is not None:
            store.flush()
    wall = time.perf_counter() - start
    done = [r for r in results if r.status == 'done']
    busy = sum(r.seconds for r in done)
    unreadable = [dict(path=r.task.src, error=r.error) for r in results
                  if r.status == 'unreadable']
    summaries = {}
    summary_splits = sorted({t.split for t in tasks})
    for s in scheme_objs:
        summary = dict(
            scheme=s.name, part_names=list(s.names), backend=backend.name,
            data_root=osp.abspath(data_root), out_root=osp.abspath(out_root),
            splits=sorted({t.split for t in tasks}),
            processed=len(done), skipped_existing=sum(r.status == 'skipped' for r in results),
            unreadable=unreadable, **summarize(results, s),
            per_split={sp: summarize([r for r in results if r.task.split == sp], s)
                       for sp in sorted({t.split for t in tasks})},
            keypoints=None if store is None else dict(
                keypoint_dir=osp.abspath(keypoint_dir),
                images={sp: len(store.entries.get(sp, {})) for sp in summary_splits},
                with_person={sp: sum(bool(e['people']) for e in store.entries.get(sp, {})
                                     .values()) for sp in summary_splits}),
            timing=dict(wall_s=round(wall, 2), workers=max(1, workers),
                        setup_s=setup_s,
                        images_per_s=round(len(done) / wall, 2) if wall > 0 else None,
                        images_per_s_per_process=round(len(done) / busy, 2) if busy else None))
        for sp in summary['per_split'].values():
            sp.pop('coverage')
        write_bytes_atomic(osp.join(out_root, s.name, 'summary.json'),
                           json.dumps(summary, indent=2).encode('utf-8'))
        summaries[s.name] = summary
    return summaries


def write_visualization(tasks: Sequence[LabelTask], out_root: str, scheme: str, num: int,
                        out_path: str, columns: int = 8) -> str:
    """Write a sheet of ``num`` labelled inputs (evenly spaced) with their maps overlaid."""
    import cv2

    from .backends import read_image
    from .visualize import draw_sheet
    sch = get_part_scheme(scheme)
    have = [t for t in tasks if osp.isfile(output_path(out_root, scheme, t))]
    if not have or num <= 0:
        raise ValueError(f'{osp.join(out_root, scheme)}: no label files to visualise')
    pick = np.unique(np.linspace(0, len(have) - 1, min(num, len(have))).round().astype(int))
    items, titles = [], []
    for i in pick:
        t = have[i]
        img = None
        if t.image is not None:
            try:
                img = read_image(t.image)
            except UnreadableInputError:
                img = None
        items.append((img, read_label_map(output_path(out_root, scheme, t))))
        titles.append(osp.basename(t.out))
    sheet = draw_sheet(items, sch, columns=columns, titles=titles)
    ok, buf = cv2.imencode(osp.splitext(out_path)[1] or '.jpg', sheet)
    if not ok:
        raise OSError(f'{out_path}: cannot encode the sheet (use a .jpg or .png name)')
    write_bytes_atomic(out_path, buf.tobytes())
    return out_path


def _report(res: TaskResult) -> TaskResult:
    """Log an unreadable input by name (the run goes on)."""
    if res.status == 'unreadable':
        logger.warning('skipped unreadable input: %s', res.error)
    return res


__all__ = ['collect_tasks', 'run_generation', 'KeypointStore', 'write_png_atomic',
           'write_bytes_atomic', 'read_label_map', 'output_path', 'summarize',
           'remove_stale_temporaries', 'TaskResult', 'DEFAULT_SPLITS', 'write_visualization']
