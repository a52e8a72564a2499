"""Features of folders: fingerprints, the gallery cache, ranking, the query search."""
import os
import os.path as osp
import shutil

import cv2
import numpy as np
import pytest
import torch
from deploy_fixtures import TINY_BOT, TINY_BPBREID, tiny_model

from mmreidparts.apis import ReIDInferencer, list_images
from mmreidparts.apis.features import (
    cached_folder_features,
    files_fingerprint,
    model_fingerprint,
    rank,
)
from mmreidparts.apis.search import draw_search, identity_of, search_gallery
from mmreidparts.structures.features import make_features


@pytest.fixture()
def gallery(person_dir, tmp_path):
    """A private copy of the person folder (the tests change it)."""
    dst = tmp_path / 'gallery'
    shutil.copytree(person_dir, dst)
    return str(dst)


def test_model_fingerprint_follows_the_weights():
    a, b = tiny_model(TINY_BOT), tiny_model(TINY_BOT)
    assert model_fingerprint(a) == model_fingerprint(b)
    with torch.no_grad():
        b.head.bnneck.running_mean[0] += 1e-3
    assert model_fingerprint(a) != model_fingerprint(b)
    b.head.bnneck.running_mean[0] -= 1e-3
    b.test_cfg['flip'] = True
    assert model_fingerprint(a) != model_fingerprint(b)


def test_files_fingerprint_follows_the_files(gallery):
    paths = list_images(gallery)
    key = files_fingerprint(paths, gallery)
    assert files_fingerprint(list(reversed(paths)), gallery) == key  # order does not matter
    os.utime(paths[0], ns=(1, 1))
    assert files_fingerprint(paths, gallery) != key
    assert files_fingerprint(paths[1:], gallery) != files_fingerprint(paths, gallery)


def test_rank_by_part_distance_worked_by_hand():
    # one query (1, 0); gallery (1, 0), (0, 1), (2, 0): distances 0, sqrt(2), 1
    query = make_features(torch.tensor([[[1., 0.]]]), torch.ones(1, 1), ('global', ), ['q'])
    gallery = make_features(torch.tensor([[[1., 0.]], [[0., 1.]], [[2., 0.]]]),
                            torch.ones(3, 1), ('global', ), ['a', 'b', 'c'])
    order, dist = rank(query, gallery, topk=2)
    assert order.tolist() == [[0, 2]]
    assert dist[0].tolist() == pytest.approx([0.0, 1.0], abs=1e-6)
    # cosine (1 - cos): 0, 0 (same direction), 1
    order, dist = rank(query, gallery, topk=3, metric='cosine')
    assert order.tolist() == [[0, 2, 1]] and dist[0, 2].item() == pytest.approx(1.0)
    other = make_features(torch.zeros(1, 2, 2), torch.ones(1, 2), ('fg', 'head'), ['x'])
    with pytest.raises(ValueError, match='different models'):
        rank(other, gallery)


def test_gallery_cache_is_reused_and_rebuilt_when_the_gallery_changes(gallery, tmp_path):
    inferencer = ReIDInferencer(tiny_model(TINY_BOT), show_progress=False)
    cache = str(tmp_path / 'cache')
    first, cached = cached_folder_features(inferencer, gallery, cache)
    assert not cached and len(first['img_paths']) == 6
    assert len(os.listdir(cache)) == 1
    calls = []
    inner = inferencer.forward
    inferencer.forward = lambda *a, **k: calls.append(1) or inner(*a, **k)
    second, cached = cached_folder_features(inferencer, gallery, cache)
    assert cached and not calls  # read from the file, the model did not run
    assert torch.equal(second['embeddings'], first['embeddings'])
    # a new image: rebuilt, in the same cache file
    img = cv2.imread(first['img_paths'][0])
    cv2.imwrite(osp.join(gallery, '0009_c1s1_000100_00.png'), img[::-1].copy())
    third, cached = cached_folder_features(inferencer, gallery, cache)
    assert not cached and calls and len(third['img_paths']) == 7
    assert len(os.listdir(cache)) == 1
    # another model: another cache entry
    other = ReIDInferencer(tiny_model(TINY_BOT, seed=1), show_progress=False)
    _, cached = cached_folder_features(other, gallery, cache)
    assert not cached and len(os.listdir(cache)) == 2


def test_corrupt_gallery_image_is_reported_and_skipped(gallery, tmp_path):
    bad = osp.join(gallery, '0007_c1s1_000001_00.jpg')
    with open(bad, 'wb') as f:
        f.write(b'\xff\xd8 truncated')
    inferencer = ReIDInferencer(tiny_model(TINY_BOT), show_progress=False)
    cache = str(tmp_path / 'cache')
    for expect_cached in (False, True):  # reported again when read from the cache
        feats, cached = cached_folder_features(inferencer, gallery, cache)
        assert cached is expect_cached
        assert [s[0] for s in feats['skipped']] == [bad]
        assert bad not in feats['img_paths'] and len(feats['img_paths']) == 6


def test_search_gallery_json_and_picture(gallery, tmp_path):
    inferencer = ReIDInferencer(tiny_model(TINY_BPBREID), show_progress=False)
    paths = list_images(gallery)
    query = paths[0]  # 0001_c1..., itself in the gallery: left out of its ranking
    result = search_gallery(inferencer, [query], gallery, str(tmp_path / 'cache'), topk=3)
    [row] = result['queries']
    assert row['pid'] == 1 and len(row['ranked']) == 3
    assert query not in [r['path'] for r in row['ranked']]
    distances = [r['distance'] for r in row['ranked']]
    assert distances == sorted(distances)
    for r in row['ranked']:
        assert r['same_id'] == (identity_of(r['path'])[0] == 1)
        assert len(r['visibility']) == 9
    assert result['embedding_names'][0] == 'foreground' and not result['from_cache']
    sheet = draw_search(inferencer, result, [query])
    # one row: query + 3 tiles of 138 x 64 framed by 4 pixels, then the legend
    assert sheet.shape[1] == 4 * 72 + 12 and sheet.shape[0] > 146 + 16
    again = search_gallery(inferencer, [cv2.imread(query)], gallery, str(tmp_path / 'cache'),
                           topk=3)
    assert again['from_cache'] and again['queries'][0]['query'] == '<array 0>'
    # an array query is not a gallery file: its own file ranks first
    assert again['queries'][0]['ranked'][0]['path'] == query
    assert np.isclose(again['queries'][0]['ranked'][0]['distance'], 0.0, atol=1e-3)


def test_identity_from_market_names():
    assert identity_of('/x/0002_c3s1_000451_03.jpg') == (2, 3)
    assert identity_of('/x/person.jpg') == (None, None)
