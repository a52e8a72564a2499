"""ReIDInferencer: inputs (paths, folders, arrays), batching, errors, zoo names, part maps."""
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from deploy_fixtures import (
    TINY_BOT,
    TINY_BPBREID,
    assert_embeddings_close,
    save_checkpoint,
    tiny_model,
)

from mmreidparts.apis import ReIDInferencer, inference_model, init_model, list_images
from mmreidparts.structures import ReIDDataSample


def _images(folder):
    return list_images(folder)


def test_folder_lists_images_recursively_sorted(person_dir):
    paths = list_images(person_dir)
    assert len(paths) == 6
    assert not any(p.endswith('.txt') for p in paths)
    assert paths[-1].startswith(osp.join(person_dir, 'sub'))  # sub-folders after the files
    assert paths[:5] == sorted(paths[:5])
    with pytest.raises(NotADirectoryError, match='no_such'):
        list_images(osp.join(person_dir, 'no_such'))


def test_paths_folders_and_arrays_give_one_result_each_in_order(person_dir, bot_checkpoint):
    inferencer = ReIDInferencer(TINY_BOT, bot_checkpoint, show_progress=False)
    paths = _images(person_dir)
    by_folder = inferencer(person_dir, batch_size=4)
    assert [r['img_path'] for r in by_folder] == [osp.abspath(p) for p in paths]
    assert by_folder[0]['embeddings'].shape == (1, 1280)
    assert by_folder[0]['embedding_names'] == ('global', )
    assert by_folder[0]['visibility'].tolist() == [1.0]
    # an array is the same image as its file; a batch of 1 gives what a batch of 4 gives
    arrays = [cv2.imread(p) for p in paths[:2]]
    mixed = inferencer([arrays[0], paths[1]], batch_size=1)
    assert mixed[0]['img_path'] is None
    for got, ref in zip(mixed, by_folder[:2]):
        assert_embeddings_close(got['embeddings'], ref['embeddings'])
    samples = inferencer(paths[:3], return_datasamples=True)
    assert all(isinstance(s, ReIDDataSample) for s in samples)
    with pytest.raises(ValueError, match='H x W x 3 uint8'):
        inferencer(np.zeros((4, 4), np.uint8))
    with pytest.raises(TypeError, match='image paths, folders'):
        inferencer([3])


def test_inference_model_is_the_inferencer(person_dir, bot_checkpoint):
    model = init_model(TINY_BOT, bot_checkpoint)
    paths = _images(person_dir)[:3]
    samples = inference_model(model, paths, batch_size=2)
    ref = ReIDInferencer(model, show_progress=False)(paths, batch_size=2)
    for sample, item in zip(samples, ref):
        assert torch.equal(sample.embeddings, torch.from_numpy(item['embeddings']))


def test_embeddings_equal_the_models_test_step(person_dir, bpbreid_checkpoint):
    # the inferencer runs the config's test pipeline and test_step (flip included)
    model = init_model(TINY_BPBREID, bpbreid_checkpoint)
    paths = _images(person_dir)
    inferencer = ReIDInferencer(model, show_progress=False)
    out = inferencer(paths, batch_size=4)
    batch = [inferencer.pipeline(dict(img_path=p, pid=-1, camid=-1, gt_label=-1,
                                      is_query=False, part_map_path=None, part_scheme=None))
             for p in paths]
    with torch.no_grad():
        data = model.data_preprocessor(
            dict(inputs=[b['inputs'] for b in batch],
                 data_samples=[b['data_samples'] for b in batch]), False)
        emb, vis = model.predict_tensors(data['inputs'])
    assert model.test_cfg['flip']
    assert_embeddings_close(np.stack([r['embeddings'] for r in out]), emb.numpy())
    np.testing.assert_array_equal(np.stack([r['visibility'] for r in out]), vis.numpy())
    assert 0 < vis[:, 1:].sum() < vis[:, 1:].numel()  # some parts visible, some not


def test_corrupt_image_raises_or_is_skipped_by_name(person_dir, bot_checkpoint, tmp_path):
    bad = tmp_path / 'broken.jpg'
    bad.write_bytes(b'not a jpeg')
    paths = _images(person_dir)[:2]
    inferencer = ReIDInferencer(TINY_BOT, bot_checkpoint, show_progress=False)
    with pytest.raises(ValueError, match='broken.jpg'):
        inferencer([paths[0], str(bad), paths[1]])
    out = inferencer([paths[0], str(bad), paths[1]], on_error='skip')
    assert [r['img_path'] for r in out] == [osp.abspath(p) for p in paths]
    assert inferencer.skipped[0][0] == str(bad) and 'cannot decode' in inferencer.skipped[0][1]
    assert inferencer.skipped_index == {1}
    with pytest.raises(ValueError, match='on_error'):
        inferencer(paths, on_error='ignore')


def test_part_maps_and_overlays_of_a_part_model(person_dir, bpbreid_checkpoint, tmp_path):
    inferencer = ReIDInferencer(TINY_BPBREID, bpbreid_checkpoint, show_progress=False)
    paths = _images(person_dir)[:2]
    out = inferencer(paths, return_part_maps=True)
    maps = out[0]['part_map']
    assert maps.shape == (9, 8, 4)  # [K+1, h, w] at output stride 8 of 64x32
    np.testing.assert_allclose(maps.sum(axis=0), np.ones((8, 4)), atol=1e-5)  # softmax
    inferencer(paths, show_dir=str(tmp_path / 'vis'))
    files = sorted(os.listdir(tmp_path / 'vis'))
    assert len(files) == 2 and files[0].startswith('00000_')
    tile = cv2.imread(str(tmp_path / 'vis' / files[0]))
    assert tile.shape == (138, 64, 3)  # 128x64 tile + the 10-pixel visibility strip
    # a global model has no part maps: none is returned
    bot = ReIDInferencer(TINY_BOT, None, show_progress=False)
    assert 'part_map' not in bot(paths[:1], return_part_maps=True)[0]


def test_progress_bar_on_long_inputs(person_dir, bot_checkpoint, capsys):
    inferencer = ReIDInferencer(TINY_BOT, bot_checkpoint)
    inferencer(person_dir, batch_size=2)
    assert '3/3' in capsys.readouterr().err  # three batches
    inferencer(person_dir, batch_size=8)
    assert capsys.readouterr().err == ''  # one batch: no bar


def test_built_from_a_zoo_name(person_dir, tmp_path, monkeypatch):
    monkeypatch.setenv('MMREIDPARTS_ZOO', str(tmp_path / 'empty_zoo'))  # nothing published
    # a zoo model whose weights are given; the names of the zoo come from the metafiles
    torch.manual_seed(0)
    model = init_model('configs/baseline/bot_mobilenetv2_1xb64_synthetic.py')
    ckpt = save_checkpoint(model, str(tmp_path / 'zoo.pth'))
    inferencer = ReIDInferencer('bot_mobilenetv2_1xb64_synthetic', ckpt, show_progress=False)
    assert 'bot_mobilenetv2_1xb64_synthetic' in inferencer.list_models('bot_*')
    [item] = inferencer(_images(person_dir)[:1])
    assert item['embeddings'].shape == (1, 1280)
    with pytest.raises(FileNotFoundError, match='no published weights.*model_zoo.py build'):
        ReIDInferencer('bot_mobilenetv2_1xb64_synthetic')
    with pytest.raises(ValueError, match='neither a config file nor a model of the zoo'):
        ReIDInferencer('no_such_model')


def test_default_device_follows_the_machine():
    model = tiny_model(TINY_BOT)
    inferencer = ReIDInferencer(model, show_progress=False)
    expected = 'cuda' if torch.cuda.is_available() else 'cpu'
    assert inferencer.device == expected
    assert next(inferencer.model.parameters()).device.type == expected
