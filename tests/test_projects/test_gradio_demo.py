"""The browser demo: its search function, and the server answering a search request."""
import os
import os.path as osp
import shutil
import subprocess
import sys
import time
import urllib.request

import pytest

gradio = pytest.importorskip('gradio')

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(ROOT, 'tests', 'data'))
sys.path.insert(0, osp.join(ROOT, 'projects', 'gradio_demo'))
sys.path.insert(0, osp.join(ROOT, 'tests', 'test_tools'))
import app as demo_app  # noqa: E402
from _tool_utils import free_port  # noqa: E402
from deploy_fixtures import TINY_BPBREID  # noqa: E402


@pytest.fixture()
def gallery_root(person_dir, tmp_path):
    root = tmp_path / 'galleries'
    shutil.copytree(person_dir, root / 'cam_a')
    return str(root)


def test_choices_and_search(gallery_root, bpbreid_checkpoint, person_dir, tmp_path):
    assert [v for _, v in demo_app.gallery_choices(gallery_root)] == ['.', 'cam_a']
    models = demo_app.model_choices([], [('tiny', TINY_BPBREID, bpbreid_checkpoint)])
    assert models == {'tiny': (TINY_BPBREID, bpbreid_checkpoint)}
    with pytest.raises(KeyError, match='not in the model zoo'):
        demo_app.model_choices(['no_such_model'], [])
    app = demo_app.SearchApp(models, gallery_root, str(tmp_path / 'cache'), device='cpu')
    query = osp.join(person_dir, '0002_c1s1_000002_00.png')
    sheet, result = app.search(query, 'tiny', 'cam_a', 3)
    assert sheet.ndim == 3 and sheet.shape[2] == 3
    assert result['model'] == 'tiny' and len(result['queries'][0]['ranked']) == 3
    assert result['queries'][0]['pid'] == 2
    with pytest.raises(ValueError, match='upload a query'):
        app.search(None, 'tiny', 'cam_a', 3)
    demo_app.build_demo(app)  # the page builds


@pytest.mark.slow
def test_the_server_starts_and_answers_a_search(gallery_root, bpbreid_checkpoint, person_dir,
                                                tmp_path):
    from gradio_client import Client, handle_file
    port = free_port()
    env = dict(os.environ, OMP_NUM_THREADS='1', GRADIO_ANALYTICS_ENABLED='False',
               PYTHONPATH=os.pathsep.join([ROOT, os.environ.get('PYTHONPATH', '')]))
    cmd = [sys.executable, 'projects/gradio_demo/app.py', '--gallery-root', gallery_root,
           '--custom', 'tiny', TINY_BPBREID, bpbreid_checkpoint, '--cache-dir',
           str(tmp_path / 'cache'), '--device', 'cpu', '--port', str(port)]
    log = open(tmp_path / 'server.log', 'w')
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f'http://127.0.0.1:{port}/'
    try:
        deadline = time.time() + 300
        while True:
            assert proc.poll() is None, (tmp_path / 'server.log').read_text()[-3000:]
            try:
                with urllib.request.urlopen(url, timeout=5) as page:
                    html = page.read().decode()
                break
            except OSError:
                assert time.time() < deadline, 'the demo did not answer in 300 s'
                time.sleep(2)
        assert 'mmreidparts: person search' in html
        # the ranking names gallery files, which the server does not serve: no download
        client = Client(url, verbose=False, download_files=False, analytics_enabled=False)
        query = osp.join(person_dir, '0002_c1s1_000002_00.png')
        sheet, result = client.predict(handle_file(query), 'tiny', 'cam_a', 3,
                                       api_name='/search')
        assert result['queries'][0]['pid'] == 2 and len(result['queries'][0]['ranked']) == 3
        assert sheet  # the picture, served by the demo
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
