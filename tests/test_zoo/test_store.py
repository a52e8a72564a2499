"""The local zoo directory: where an entry's weights are looked up, and what a user is told."""
import hashlib
import os

import pytest

from mmreidparts.zoo import (
    DownloadError,
    ZooWeightsError,
    base_url,
    locate_weights,
    weights_status,
    write_build_record,
    zoo_dir,
)

DATA = b'published weights' * 100
SHA = hashlib.sha256(DATA).hexdigest()
FILE = f'tiny-{SHA[:8]}.pth'


def _entry(**extra) -> dict:
    entry = dict(Name='tiny', Config='/x/tiny.py', Build=dict(Dataset='Synthetic'))
    entry.update(extra)
    return entry


PUBLISHED = dict(Weights=FILE, Sha256=SHA, Size=len(DATA))


def test_zoo_dir_and_base_url_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv('MMREIDPARTS_ZOO', raising=False)
    monkeypatch.delenv('MMREIDPARTS_ZOO_URL', raising=False)
    assert zoo_dir() == os.path.expanduser(os.path.join('~', '.cache', 'mmreidparts', 'zoo'))
    assert base_url() is None
    monkeypatch.setenv('MMREIDPARTS_ZOO', str(tmp_path / 'z'))
    monkeypatch.setenv('MMREIDPARTS_ZOO_URL', 'https://mirror.example/zoo/')
    assert zoo_dir() == str(tmp_path / 'z') and zoo_dir('/other') == '/other'
    assert base_url() == 'https://mirror.example/zoo' and base_url('http://a') == 'http://a'


def test_status_follows_the_weights(monkeypatch, tmp_path):
    monkeypatch.delenv('MMREIDPARTS_ZOO_URL', raising=False)
    zoo = str(tmp_path)
    assert weights_status(_entry(), zoo) == 'build-only'
    assert weights_status(dict(Name='r50', Config='/x.py'), zoo) == '-'
    official = dict(Name='rel', Config='/x.py', **{'Converted From': dict(Weights='https://p')})
    assert weights_status(official, zoo) == 'download + convert'
    assert weights_status(_entry(**PUBLISHED), zoo) == 'needs a mirror'
    assert weights_status(_entry(**PUBLISHED), zoo, 'https://mirror') == 'downloadable'
    (tmp_path / FILE).write_bytes(DATA[:-1])  # wrong size: not counted as present
    assert weights_status(_entry(**PUBLISHED), zoo, 'https://mirror') == 'downloadable'
    (tmp_path / FILE).write_bytes(DATA)
    assert weights_status(_entry(**PUBLISHED), zoo) == 'present'
    (tmp_path / 'local-1.pth').write_bytes(b'x')
    write_build_record(dict(name='tiny', file='local-1.pth'), zoo)
    assert weights_status(_entry(), zoo) == 'local build'


def test_published_file_then_local_build_then_download(file_server, tmp_path):
    zoo = str(tmp_path / 'zoo')
    file_server.files[FILE] = DATA
    entry = _entry(**PUBLISHED)
    path, origin = locate_weights(entry, zoo, file_server.url, timeout=5)
    assert (path, origin) == (os.path.join(zoo, FILE), 'downloaded')
    assert open(path, 'rb').read() == DATA
    assert locate_weights(entry, zoo, file_server.url) == (path, 'published')
    assert len(file_server.log) == 1  # the second call found it in the zoo directory

    # a corrupted copy in the cache is replaced by a fresh download
    with open(path, 'r+b') as f:
        f.write(b'X')
    with pytest.warns(UserWarning, match='does not match'):
        assert locate_weights(entry, zoo, file_server.url, timeout=5)[1] == 'downloaded'
    assert open(path, 'rb').read() == DATA and len(file_server.log) == 2


def test_a_local_build_is_used_when_nothing_is_published(tmp_path):
    zoo = str(tmp_path)
    built = b'my own build'
    (tmp_path / 'tiny-00000000.pth').write_bytes(built)
    write_build_record(dict(name='tiny', file='tiny-00000000.pth', size=len(built),
                            sha256=hashlib.sha256(built).hexdigest()), zoo)
    assert locate_weights(_entry(), zoo) == (str(tmp_path / 'tiny-00000000.pth'),
                                             'local build')
    with pytest.warns(UserWarning, match='not the published weights'):
        locate_weights(_entry(**PUBLISHED), zoo, 'http://127.0.0.1:9')
    (tmp_path / 'tiny-00000000.pth').write_bytes(b'changed after the build')
    with pytest.raises(DownloadError, match='bytes, but the model zoo lists'):
        locate_weights(_entry(), zoo)


def test_the_error_says_how_to_get_the_weights(monkeypatch, tmp_path):
    monkeypatch.delenv('MMREIDPARTS_ZOO_URL', raising=False)
    zoo = str(tmp_path)
    with pytest.raises(ZooWeightsError, match=r'no published weights; build them: python '
                       r'tools/model_zoo.py build tiny'):
        locate_weights(_entry(), zoo)
    with pytest.raises(ZooWeightsError, match=f'{FILE} is not there and no download URL.*'
                       'MMREIDPARTS_ZOO_URL'):
        locate_weights(_entry(**PUBLISHED), zoo)
    official = dict(Name='rel', Config='/x.py', **{'Converted From': dict(
        Weights='https://drive.example/folder', File='release.pth')})
    with pytest.raises(ZooWeightsError, match=r'download release.pth from https://drive.'
                       r'example/folder, then: python tools/model_zoo.py convert rel'):
        locate_weights(official, zoo)


def test_an_absolute_weights_path_is_checked_in_place(tmp_path):
    path = tmp_path / FILE
    path.write_bytes(DATA)
    entry = _entry(Weights=str(path), Sha256=SHA, Size=len(DATA))
    assert locate_weights(entry, str(tmp_path / 'zoo')) == (str(path), 'published')
    path.write_bytes(DATA.upper())
    with pytest.raises(DownloadError, match='does not match'):
        locate_weights(entry, str(tmp_path / 'zoo'))
    assert path.exists()  # a user's own file is never deleted


def test_get_model_downloads_resumes_verifies_and_loads(file_server, tmp_path):
    import torch

    from mmreidparts.apis import get_model, init_model
    from mmreidparts.zoo import publish_checkpoint
    cfg = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))), 'tests', 'data', 'configs', 'tiny_bot.py')
    torch.manual_seed(3)
    raw = tmp_path / 'raw.pth'
    torch.save(dict(state_dict=init_model(cfg).state_dict()), raw)
    record = publish_checkpoint(str(raw), str(tmp_path / 'hosted'), 'tiny_bot')
    file_server.files[record['file']] = open(record['path'], 'rb').read()
    file_server.faults[record['file']] = ('cut', record['size'] // 3)
    root = tmp_path / 'configs'
    (root / 'tiny').mkdir(parents=True)
    (root / 'tiny' / 'metafile.yml').write_text(
        f"Models:\n  - Name: tiny_bot\n    Config: {cfg}\n    Weights: {record['file']}\n"
        f"    Sha256: {record['sha256']}\n    Size: {record['size']}\n")
    zoo = str(tmp_path / 'zoo')
    model = get_model('tiny_bot', pretrained=True, config_root=str(root), zoo=zoo,
                      url=file_server.url)
    assert [r for _, r in file_server.log] == [None, f'bytes={record["size"] // 3}-']
    ref = torch.load(record['path'], weights_only=True)['state_dict']
    for key, value in model.state_dict().items():
        assert torch.equal(value, ref[key]), key
    assert sorted(os.listdir(zoo)) == [record['file']]
