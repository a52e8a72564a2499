"""Feature files: make, save, load (weights_only), checks, query/gallery split."""
import pytest
import torch

from mmreidparts.structures.features import (
    load_features,
    make_features,
    save_features,
    split_query_gallery,
)


def _feats(**kwargs):
    args = dict(embeddings=torch.arange(12.).reshape(3, 2, 2), visibility=torch.ones(3, 2),
                embedding_names=('foreground', 'head'), img_paths=['a.jpg', 'b.jpg', 'c.jpg'],
                pids=[1, 1, 2], camids=[0, 1, 1], is_query=[True, False, False],
                skipped=[('d.jpg', 'corrupt')], meta=dict(eval_protocol='market'))
    args.update(kwargs)
    return make_features(**args)


def test_round_trip_and_split(tmp_path):
    path = save_features(_feats(), str(tmp_path / 'f.pt'))
    feats = load_features(path)
    assert torch.equal(feats['embeddings'], torch.arange(12.).reshape(3, 2, 2))
    assert feats['pids'].tolist() == [1, 1, 2] and feats['is_query'].dtype == torch.bool
    assert feats['skipped'] == [['d.jpg', 'corrupt']]
    assert feats['meta'] == dict(eval_protocol='market', format_version=1)
    query, gallery = split_query_gallery(feats)
    assert query['img_paths'] == ['a.jpg'] and gallery['img_paths'] == ['b.jpg', 'c.jpg']
    assert torch.equal(gallery['embeddings'], feats['embeddings'][1:])
    assert gallery['camids'].tolist() == [1, 1]


def test_unknown_ids_default_to_minus_one():
    feats = _feats(pids=None, camids=None, is_query=None)
    assert feats['pids'].tolist() == [-1] * 3 and not feats['is_query'].any()


def test_bad_features_are_named(tmp_path):
    with pytest.raises(ValueError, match='visibility must be'):
        _feats(visibility=torch.ones(3, 3))
    with pytest.raises(ValueError, match='img_paths has 2 entries for 3 images'):
        _feats(img_paths=['a', 'b'])
    with pytest.raises(ValueError, match='1 embedding names for P=2'):
        _feats(embedding_names=('global', ))
    with pytest.raises(TypeError):
        _feats(meta=dict(obj=object()))  # not JSON-able: not readable with weights_only
    other = tmp_path / 'other.pt'
    torch.save(dict(embeddings=torch.zeros(1, 1, 1)), other)
    with pytest.raises(ValueError, match='other.pt: not a feature file'):
        load_features(str(other))
    with pytest.raises(FileNotFoundError, match='missing.pt'):
        load_features(str(tmp_path / 'missing.pt'))
