"""ONNX export of the test graph and the onnxruntime-backed model (the deploy extra)."""
import json
import os.path as osp

import numpy as np
import pytest
import torch
from deploy_fixtures import TINY_BOT, TINY_BPBREID, assert_embeddings_close, tiny_model

pytest.importorskip('onnx')
pytest.importorskip('onnxruntime')

from mmreidparts.apis import ReIDInferencer, init_model, list_images  # noqa: E402
from mmreidparts.deployment import (  # noqa: E402
    ONNXReIDModel,
    export_model_file,
    onnx_max_diff,
    pipeline_input_size,
    read_onnx_metadata,
)


@pytest.fixture(scope='module')
def exported(tmp_path_factory):
    """The tiny BoT and BPBreID (test-time flip, left/right swaps) models and their exports."""
    out = {}
    folder = tmp_path_factory.mktemp('onnx')
    for name, cfg in (('bot', TINY_BOT), ('bpbreid', TINY_BPBREID)):
        model = tiny_model(cfg)
        path, meta = export_model_file(model, str(folder / f'{name}.onnx'),
                                       source=dict(config=osp.basename(cfg)))
        out[name] = (model, path, meta)
    return out


@pytest.mark.parametrize('name', ['bot', 'bpbreid'])
def test_onnxruntime_matches_pytorch_at_another_batch_size(exported, name):
    model, path, _ = exported[name]
    torch.manual_seed(3)
    inputs = torch.randn(5, 3, 64, 32)  # traced with a batch of 2: the batch is dynamic
    emb_diff, vis_diff = onnx_max_diff(model, path, inputs)
    assert emb_diff < 1e-4 and vis_diff == 0.0  # the tiny BoT's embeddings reach 10
    emb, vis = ONNXReIDModel(path).predict_tensors(inputs[:1])
    assert emb.shape[0] == 1 and vis.shape[0] == 1


def test_the_flip_is_part_of_the_graph(exported):
    model, path, meta = exported['bpbreid']
    assert meta['test_cfg']['flip'] and ['l_arm', 'r_arm'] in meta['test_cfg']['flip_pairs']
    torch.manual_seed(4)
    inputs = torch.randn(2, 3, 64, 32)
    emb, vis = ONNXReIDModel(path).predict_tensors(inputs)
    model.test_cfg['flip'] = False
    try:
        with torch.no_grad():
            plain, plain_vis = model.predict_tensors(inputs)
            mirrored, mirrored_vis = model.predict_tensors(inputs.flip(-1))
    finally:
        model.test_cfg['flip'] = True
    # by hand: the mirrored image's left and right parts swapped, then the average
    names = list(model.embedding_names)
    order = list(range(len(names)))
    for left, right in (('l_arm', 'r_arm'), ('l_leg', 'r_leg'), ('l_foot', 'r_foot')):
        i, j = names.index(left), names.index(right)
        order[i], order[j] = j, i
    expected = (plain + mirrored[:, order]) / 2
    assert (emb - expected).abs().max() < 1e-4
    assert torch.equal(vis, torch.maximum(plain_vis, mirrored_vis[:, order]))
    assert (emb - plain).abs().max() > 1e-3  # not the un-flipped graph


def test_metadata_names_preprocessing_and_evaluator(exported):
    model, path, meta = exported['bpbreid']
    read = read_onnx_metadata(path)
    assert read['embedding_names'] == list(model.embedding_names)
    pre = read['preprocess']
    assert pre['input_size'] == [64, 32] == list(pipeline_input_size(model.cfg))
    assert pre['mean'] == pytest.approx([123.675, 116.28, 103.53]) and pre['to_rgb']
    assert [s['type'] for s in pre['pipeline']] == ['LoadReIDImage', 'ReIDResize',
                                                   'PackReIDInputs']
    assert read['evaluator'] == dict(metric='euclidean', normalize=False)
    assert read['source'] == dict(config='tiny_bpbreid.py')
    json.dumps(read)


def test_onnx_model_gives_the_data_samples_of_the_pytorch_model(exported, person_dir):
    model, path, _ = exported['bpbreid']
    paths = list_images(person_dir)
    onnx_model = init_model(TINY_BPBREID, path)  # a .onnx checkpoint: onnxruntime
    assert isinstance(onnx_model, ONNXReIDModel)
    ref = ReIDInferencer(model, show_progress=False)(paths)
    got = ReIDInferencer(onnx_model, show_progress=False)(paths)
    for a, b in zip(ref, got):
        assert a['embedding_names'] == b['embedding_names']
        assert_embeddings_close(b['embeddings'], a['embeddings'])
        np.testing.assert_array_equal(a['visibility'], b['visibility'])
    with pytest.raises(ValueError, match='mode must be'):
        onnx_model(torch.zeros(1, 3, 64, 32), mode='loss')
    with pytest.raises(ValueError, match=r'exported for inputs \[N, 3, 64, 32\]'):
        onnx_model.predict_tensors(torch.zeros(1, 3, 128, 64))
    assert len(onnx_model.fingerprint) == 64


def test_a_foreign_onnx_file_is_refused_by_name(tmp_path):
    path = str(tmp_path / 'plain.onnx')
    torch.onnx.export(torch.nn.Linear(2, 2), (torch.zeros(1, 2), ), path, dynamo=False)
    with pytest.raises(ValueError, match='plain.onnx.*pytorch2onnx'):
        read_onnx_metadata(path)
    with pytest.raises(FileNotFoundError, match='missing.onnx'):
        ONNXReIDModel(str(tmp_path / 'missing.onnx'))


def test_a_head_whose_predict_differs_from_predict_tensors_is_refused(tmp_path):
    from mmreidparts.models.heads import BNNeckHead

    class PredictOnly(BNNeckHead):
        """Adds an embedding in predict() only, not in predict_tensors()."""

        def predict(self, feats, data_samples=None):
            samples = super().predict(feats, data_samples)
            for s in samples:
                s.set_prediction(torch.cat([s.embeddings, s.embeddings]), None, ('a', 'b'))
            return samples

    model = tiny_model(TINY_BOT)
    head = PredictOnly(in_channels=1280, num_classes=8)
    head.load_state_dict(model.head.state_dict())
    model.head = head.eval()
    with pytest.raises(ValueError, match='PredictOnly.predict_tensors does not give what'):
        export_model_file(model, str(tmp_path / 'x.onnx'))
    assert not (tmp_path / 'x.onnx').exists()
