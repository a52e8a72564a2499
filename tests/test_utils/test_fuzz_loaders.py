"""Fuzzing the loaders of untrusted files: every outcome is a valid result or a project error.

Random bytes, random small arrays in every format the loaders read, and valid files with
random bytes flipped or cut off go through the image loader, the label loader, the
PifPaf loader and the two checkpoint loaders. A case passes when the loader returns a
result of the documented type and shape, or raises a :class:`ReIDPartsError`; anything
else (an ``IndexError`` from deep inside a decoder, a hang, a crash) fails the test with
the case that caused it. The cases are seeded, so a failure reproduces.
"""
import io
from typing import Callable, Iterator, List, Tuple

import cv2
import numpy as np
import pytest
import torch

from mmreidparts.datasets.transforms import LoadPartLabel, LoadPifPafLabel, LoadReIDImage
from mmreidparts.models.utils.checkpoint import load_checkpoint_file
from mmreidparts.utils import load_state_dict_file
from mmreidparts.utils.errors import ReIDPartsError

CASES = 60  # per loader and kind of input


def _random_array(rng: np.random.RandomState) -> np.ndarray:
    """A small array of a random shape and dtype, sometimes with NaN or Inf."""
    ndim = rng.randint(0, 5)
    shape = tuple(int(n) for n in rng.randint(0, 7, ndim))
    if rng.rand() < 0.3 and ndim == 3:
        shape = (36, ) + shape[1:]  # the PifPaf layout, to get past the shape check
    dtype = rng.choice(['uint8', 'uint16', 'int32', 'int64', 'float32', 'float64', 'bool'])
    arr = np.asarray(rng.rand(*shape) * 300 - 20).astype(dtype)
    if arr.dtype.kind == 'f' and arr.size and rng.rand() < 0.3:
        arr.flat[rng.randint(arr.size)] = rng.choice([np.nan, np.inf, -np.inf])
    return arr


def _encoded(rng: np.random.RandomState) -> Tuple[str, bytes]:
    """A valid file: a random small image or label as PNG, JPEG, TIFF, BMP or npy."""
    h, w = rng.randint(1, 24, 2)
    kind = rng.choice(['.png', '.jpg', '.tif', '.bmp', '.npy'])
    if kind == '.npy':
        buf = io.BytesIO()
        np.save(buf, _random_array(rng))
        return kind, buf.getvalue()
    channels = rng.choice([1, 3, 4]) if kind in ('.png', '.tif') else rng.choice([1, 3])
    depth = np.uint16 if kind in ('.png', '.tif') and rng.rand() < 0.3 else np.uint8
    img = rng.randint(0, 9 if rng.rand() < 0.5 else 256, (h, w, channels)).astype(depth)
    ok, enc = cv2.imencode(kind, img[..., 0] if channels == 1 else img)
    assert ok
    return kind, enc.tobytes()


def _mutated(rng: np.random.RandomState, data: bytes) -> bytes:
    """``data`` with a few random bytes changed, or cut short, or both."""
    buf = bytearray(data)
    for _ in range(rng.randint(0, 4)):
        if buf:
            buf[rng.randint(len(buf))] = rng.randint(256)
    if rng.rand() < 0.5 and buf:
        buf = buf[:rng.randint(len(buf))]
    return bytes(buf)


def _inputs(seed: int, valid: Callable[[np.random.RandomState], Tuple[str, bytes]]
            ) -> Iterator[Tuple[str, str, bytes]]:
    """``(case name, suffix, bytes)``: random bytes, valid files and mutated valid files."""
    rng = np.random.RandomState(seed)
    for i in range(CASES):
        kind, data = valid(rng)
        yield f'random bytes {i}', kind, rng.bytes(rng.randint(0, 600))
        yield f'valid {kind} {i}', kind, data
        yield f'mutated {kind} {i}', kind, _mutated(rng, data)


def _fuzz(tmp_path, seed: int, valid: Callable[[np.random.RandomState], Tuple[str, bytes]],
          load: Callable[[str, str], None]) -> List[str]:
    """Write each input of :func:`_inputs` to a file and ``load(path, case)`` it.

    Returns ``'ok'`` or ``'error'`` per case; fails on anything but a project error, and
    on an error that does not name the file.
    """
    outcomes = []
    for case, kind, data in _inputs(seed, valid):
        path = str(tmp_path / f'case{kind}')
        with open(path, 'wb') as f:
            f.write(data)
        try:
            load(path, case)
        except ReIDPartsError as err:
            assert path in str(err), f'{case}: the error does not name the file: {err}'
            outcomes.append('error')
            continue
        except Exception as err:  # noqa: BLE001 - the point of the test
            pytest.fail(f'{case}: {type(err).__name__} is not a project error: {err}')
        outcomes.append('ok')
    return outcomes


def test_fuzz_image_loader(tmp_path):

    def load(path: str, case: str) -> None:
        img = LoadReIDImage()(dict(img_path=path))['img']
        assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3, case
        assert min(img.shape[:2]) >= 1, case

    outcomes = _fuzz(tmp_path, 0, _encoded, load)
    assert outcomes.count('ok') > 40 and outcomes.count('error') > 40


def _label_file(rng: np.random.RandomState) -> Tuple[str, bytes]:
    """A valid label map (one channel, ids 0..8 or 255) as PNG or npy, or another file."""
    if rng.rand() < 0.4:
        return _encoded(rng)
    label = rng.choice([0, 1, 2, 3, 4, 5, 6, 7, 8, 255], rng.randint(1, 24, 2)).astype(np.uint8)
    if rng.rand() < 0.5:
        return '.png', cv2.imencode('.png', label)[1].tobytes()
    buf = io.BytesIO()
    np.save(buf, label.astype(rng.choice(['uint8', 'int32', 'float32'])))
    return '.npy', buf.getvalue()


def test_fuzz_label_loader(tmp_path):
    img = str(tmp_path / 'img.png')
    cv2.imwrite(img, np.zeros((16, 8, 3), np.uint8))

    def load(path: str, case: str) -> None:
        results = LoadReIDImage()(dict(img_path=img))
        results.update(part_map_path=path, part_scheme='bpbreid8', part_source_scheme=None)
        # any size is resized (the aspect check has its own tests)
        label = LoadPartLabel(aspect_tolerance=None)(results)['gt_seg_map']
        assert label.shape == (16, 8) and label.dtype == np.uint8, case
        assert set(np.unique(label)) <= set(range(9)) | {255}, case

    outcomes = _fuzz(tmp_path, 1, _label_file, load)
    assert outcomes.count('ok') > 30 and outcomes.count('error') > 40


def _pifpaf_file(rng: np.random.RandomState) -> Tuple[str, bytes]:
    """A valid PifPaf field file (``[36, h, w]`` in [0, 1]), sometimes another array."""
    arr = rng.rand(36, rng.randint(1, 9), rng.randint(1, 5)).astype(np.float32) \
        if rng.rand() < 0.6 else _random_array(rng)
    buf = io.BytesIO()
    np.save(buf, arr)
    return '.npy', buf.getvalue()


def test_fuzz_pifpaf_loader(tmp_path):

    def load(path: str, case: str) -> None:
        results = dict(img_path=str(tmp_path / 'x.jpg'), img_shape=(16, 8), pifpaf_path=path)
        label = LoadPifPafLabel()(results)['gt_seg_map']
        assert label.shape == (16, 8) and label.max() <= 8, case

    outcomes = _fuzz(tmp_path, 2, _pifpaf_file, load)
    assert outcomes.count('ok') > 30 and outcomes.count('error') > 40


def _checkpoint_file(rng: np.random.RandomState) -> Tuple[str, bytes]:
    """A small valid checkpoint: a state dict (sometimes wrapped with meta)."""
    state = {f'layer{i}.weight': torch.from_numpy(rng.rand(rng.randint(1, 5), 3))
             for i in range(rng.randint(1, 4))}
    obj = dict(state_dict=state, meta=dict(epoch=int(rng.randint(9)))) if rng.rand() < 0.5 \
        else state
    buf = io.BytesIO()
    torch.save(obj, buf)
    return '.pth', buf.getvalue()


def test_fuzz_checkpoint_loaders(tmp_path):

    def load(path: str, case: str) -> None:
        state, meta = load_state_dict_file(path)
        assert all(isinstance(k, str) and isinstance(v, torch.Tensor)
                   for k, v in state.items()), case
        assert isinstance(meta, dict), case
        assert isinstance(load_checkpoint_file(path), dict), case

    outcomes = _fuzz(tmp_path, 3, _checkpoint_file, load)
    assert outcomes.count('ok') > 40 and outcomes.count('error') > 40
