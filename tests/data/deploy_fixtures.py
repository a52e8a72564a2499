"""Tiny models, checkpoints and person images shared by the API, deployment and tool tests."""
import os.path as osp

import cv2
import numpy as np
import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY_BOT = osp.join(ROOT, 'tests', 'data', 'configs', 'tiny_bot.py')
TINY_BPBREID = osp.join(ROOT, 'tests', 'data', 'configs', 'tiny_bpbreid.py')


def tiny_model(config: str, seed: int = 0) -> torch.nn.Module:
    """A randomly initialised model whose embeddings differ from image to image.

    The head's linear layers at torch's default scale (the release's N(0, 0.01) makes
    every image's embedding nearly the same, which leaves a ranking to float noise), the
    BN statistics measured on random images and, for part heads, part maps that are not
    uniform (some parts visible, some not).
    """
    from mmreidparts.apis import init_model
    torch.manual_seed(seed)
    model = init_model(config)
    with torch.no_grad():
        for module in model.head.modules():
            if isinstance(module, torch.nn.Linear):
                module.reset_parameters()
        classifier = getattr(model.head, 'pixel_classifier', None)
        if classifier is not None:
            classifier.conv.weight.normal_(0, 0.03)
        norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
        for norm in norms:
            norm.reset_running_stats()
            norm.momentum = None  # a plain average over the calibration batches
        model.train()
        for _ in range(2):
            model.head(model.extract_feat(torch.randn(8, 3, 64, 32)))
        for norm in norms:
            norm.momentum = 0.1
    return model.eval()


def save_checkpoint(model: torch.nn.Module, path: str) -> str:
    """A plain checkpoint of ``model``."""
    torch.save(dict(state_dict=model.state_dict(), meta={}), path)
    return path


@pytest.fixture(scope='session')
def person_dir(tmp_path_factory) -> str:
    """A folder of 6 synthetic 64x32 images, Market-named (pids 1, 1, 2, 2, 3, 3), one in a
    sub-folder, plus a text file that is not an image."""
    root = tmp_path_factory.mktemp('persons')
    (root / 'sub').mkdir()
    rng = np.random.default_rng(0)
    for i in range(6):
        pid, cam = i // 2 + 1, i % 2 + 1
        img = rng.integers(0, 255, (64, 32, 3), dtype=np.uint8)
        folder = root / 'sub' if i == 5 else root
        cv2.imwrite(str(folder / f'{pid:04d}_c{cam}s1_{i:06d}_00.png'), img)
    (root / 'notes.txt').write_text('not an image')
    return str(root)


@pytest.fixture(scope='session')
def bot_checkpoint(tmp_path_factory) -> str:
    """A checkpoint of the tiny BoT model."""
    return save_checkpoint(tiny_model(TINY_BOT), str(tmp_path_factory.mktemp('ck') / 'bot.pth'))


@pytest.fixture(scope='session')
def bpbreid_checkpoint(tmp_path_factory) -> str:
    """A checkpoint of the tiny BPBreID model (flip test-time augmentation)."""
    return save_checkpoint(tiny_model(TINY_BPBREID),
                           str(tmp_path_factory.mktemp('ck') / 'bpbreid.pth'))


def assert_embeddings_close(got, expected, rel: float = 1e-4) -> None:
    """Max ``|got - expected|`` within ``rel`` times the embeddings' scale (at least 1).

    Two runs of the same graph differ by float32 rounding that depends on the batch
    composition and the runtime: about 1e-6 of the values' magnitude.
    """
    got, expected = np.asarray(got, np.float64), np.asarray(expected, np.float64)
    assert got.shape == expected.shape, (got.shape, expected.shape)
    scale = max(1.0, float(np.abs(expected).max()))
    gap = float(np.abs(got - expected).max())
    assert gap <= rel * scale, f'max |diff| {gap:.3g} > {rel:g} x {scale:.3g}'
