"""The model index: loading model-index.yml and its metafiles, and what a well-formed entry is."""
import os.path as osp

import pytest
import yaml

from mmreidparts.zoo import (
    MetafileError,
    entry_problems,
    index_problems,
    load_index,
    release_problems,
    update_metafile_entry,
)
from mmreidparts.zoo.index import REPO_ROOT

COLLECTION = dict(Name='M', Metadata=dict(Architecture=['x']), README='configs/m/README.md',
                  Paper=dict(Title='A paper', URL='https://arxiv.org/abs/1'),
                  Code=dict(URL='https://github.com/a/b'))
PAPER = dict(Task='Person Re-identification', Dataset='Market-1501',
             Metrics=dict(rank1=90.0, mAP=80.0), Source='paper (Table 1)')


def _repo(tmp_path, models, extra_configs=(), imports=('configs/m/metafile.yml', )):
    """A repository with one method folder ``configs/m`` and a model-index.yml."""
    folder = tmp_path / 'configs' / 'm'
    folder.mkdir(parents=True)
    (folder / 'README.md').write_text('# M\n')
    (tmp_path / 'tools').mkdir()
    (tmp_path / 'tools' / 'model_zoo.py').write_text('')
    for m in models:
        (tmp_path / m['Config']).write_text('')
    for name in extra_configs:
        (folder / name).write_text('')
    (folder / 'metafile.yml').write_text(yaml.safe_dump(
        dict(Collections=[COLLECTION], Models=models), sort_keys=False))
    (tmp_path / 'model-index.yml').write_text(yaml.safe_dump(dict(Import=list(imports))))
    return str(tmp_path / 'model-index.yml')


def _model(name='m_r50_1xb64_market1501', **extra) -> dict:
    model = {'Name': name, 'In Collection': 'M', 'Config': f'configs/m/{name}.py',
             'Results': [dict(PAPER)]}
    model.update(extra)
    return model


def test_index_loads_the_imported_metafiles(tmp_path):
    index = load_index(_repo(tmp_path, [_model()]))
    entry = index['m_r50_1xb64_market1501']
    assert entry['Config'] == str(tmp_path / 'configs/m/m_r50_1xb64_market1501.py')
    assert entry['_collection']['Name'] == 'M'
    assert index_problems(str(tmp_path / 'model-index.yml')) == []


def test_a_name_listed_in_two_metafiles_is_refused(tmp_path):
    path = _repo(tmp_path, [_model()])
    other = tmp_path / 'configs' / 'n'
    other.mkdir()
    (other / 'metafile.yml').write_text(yaml.safe_dump(dict(Models=[_model()])))
    (tmp_path / 'model-index.yml').write_text(
        'Import: [configs/m/metafile.yml, configs/n/metafile.yml]\n')
    with pytest.raises(MetafileError, match=r'n/metafile.yml: model name .* already listed'):
        load_index(path)


def test_an_unlisted_config_and_an_unimported_metafile_are_found(tmp_path):
    path = _repo(tmp_path, [_model()], extra_configs=['m_r50_1xb64_dukemtmcreid.py'])
    assert index_problems(path) == [
        'configs/m/metafile.yml: does not list the config configs/m/m_r50_1xb64_dukemtmcreid.py']
    (tmp_path / 'model-index.yml').write_text('Import: []\n')
    assert index_problems(path) == [f'{path}: does not import configs/m/metafile.yml']
    (tmp_path / 'configs' / 'new_method').mkdir()
    (tmp_path / 'configs' / 'new_method' / 'new_r50_1xb64_market1501.py').write_text('')
    (tmp_path / 'configs' / '_base_').mkdir()
    (tmp_path / 'configs' / '_base_' / 'runtime.py').write_text('')
    assert index_problems(path)[-1] == 'configs/new_method: configs without a metafile.yml'


MEASURED = dict(PAPER, Source='measured', Dataset='Synthetic')
CMD = 'python tools/model_zoo.py eval m_r50_1xb64_market1501'


@pytest.mark.parametrize('change,problem', [
    (dict(Results=[dict(PAPER, Source=None)]), 'Source must start with one of'),
    (dict(Results=[dict(PAPER, Source='ours')]), 'Source must start with one of'),
    (dict(Results=[MEASURED]), 'needs a Command that reproduces it'),
    (dict(Results=[dict(MEASURED, Command='python tools/nothing.py m_r50_1xb64_market1501')]),
     'Command names tools/nothing.py, which does not exist'),
    (dict(Results=[dict(MEASURED, Command='python tools/model_zoo.py eval other')]),
     'names neither m_r50_1xb64_market1501 nor configs/m/m_r50_1xb64_market1501.py'),
    (dict(Results=[dict(MEASURED, Command='echo m_r50_1xb64_market1501')]),
     'runs no script of tools/'),
    (dict(Results=[dict(PAPER, Metrics=dict(rank1=90.0))]), 'Metrics must hold'),
    (dict(Results=[dict(PAPER, Queries='half')]), 'Queries must be'),
    (dict(Weights='m.pth'), 'Weights need the full Sha256'),
    (dict(Weights='m.pth', Sha256='a' * 64, Size=10), 'must hold the hash prefix aaaaaaaa'),
    (dict(Weights='m-aaaaaaaa.pth', Sha256='a' * 64), 'Weights need their Size'),
    (dict(Build=dict(Dataset='S', Epochs=3)), "unknown key 'Epochs'"),
    (dict(Build=dict(Dataset='S', Evaluate=['all', 'half'])), 'Build Evaluate must list'),
    (dict(Build=dict(Evaluate=['all'])), 'Build needs the Dataset'),
    (dict(Build=dict(Dataset='S', Data='market')), 'Build Data must be one of'),
    ({'Converted From': dict(Weights='https://p', Code='https://c', File='f.pth')},
     'Converter must be a command'),
    ({'Converted From': dict(Weights='https://p', Code='https://c', File='f.pth',
                             Converter='python tools/model_converters/x.py {src} {dst}')},
     'must run one existing script of tools/model_converters/'),
    ({'In Collection': 'Other'}, "In Collection 'Other' is not a Collection"),
])
def test_malformed_entries_are_named(tmp_path, change, problem):
    path = _repo(tmp_path, [_model(**change)])
    problems = index_problems(path)
    assert any(problem in p for p in problems), problems
    assert all('m_r50_1xb64_market1501' in p or 'metafile' in p for p in problems)


def test_a_well_formed_entry_has_no_problem(tmp_path):
    model = _model(Results=[dict(PAPER), dict(MEASURED, Command=CMD, Queries='partial top 0.5')],
                   Weights='m_r50_1xb64_market1501-aaaaaaaa.pth', Sha256='a' * 64, Size=10,
                   Build={'Train Options': ['--amp'], 'Dataset': 'Synthetic', 'Data': 'synthetic',
                          'Evaluate': ['all', 'occluded', 'partial top 0.5']})
    path = _repo(tmp_path, [model])
    assert index_problems(path) == []
    entry = load_index(path)['m_r50_1xb64_market1501']
    assert entry_problems(entry, str(tmp_path)) == []


def test_pending_releases_have_the_shared_format():
    release = {'Name': 'x_release', 'In Collection': 'PAL', 'Method Folder': 'configs/pal',
               'Converted From': dict(Weights='https://drive', File='ckpt.pth',
                                      Code='https://github.com/a/b', Converter=None),
               'Results': [dict(PAPER)]}
    assert release_problems(release, REPO_ROOT) == []
    bad = dict(release, Results=[dict(PAPER, Source='measured', Command=None)])
    assert any('Source: paper' in p for p in release_problems(bad, REPO_ROOT))
    bad = dict(release, **{'Converted From': dict(File='ckpt.pth', Converter=None)})
    assert any('needs the Weights page' in p for p in release_problems(bad, REPO_ROOT))


def test_update_replaces_measured_results_and_keeps_the_paper(tmp_path):
    old_measured = dict(MEASURED, Command=CMD, Metrics=dict(rank1=1.0, mAP=2.0))
    occluded = dict(old_measured, Queries='occluded')
    path = _repo(tmp_path, [_model(Results=[dict(PAPER), old_measured, occluded])])
    metafile = osp.join(osp.dirname(path), 'configs', 'm', 'metafile.yml')
    new = dict(MEASURED, Command=CMD, Metrics=dict(rank1=50.0, mAP=40.0))
    partial = dict(new, Queries='partial top 0.5')
    entry = update_metafile_entry(
        metafile, 'm_r50_1xb64_market1501',
        weights=dict(Weights='m_r50_1xb64_market1501-aaaaaaaa.pth', Sha256='a' * 64, Size=10),
        metadata={'Training Time (s)': 12}, results=[new, partial])
    assert entry['Results'] == [PAPER, new, occluded, partial]
    assert list(entry)[:7] == ['Name', 'In Collection', 'Config', 'Metadata', 'Results',
                               'Weights', 'Sha256']
    assert load_index(path)['m_r50_1xb64_market1501']['Metadata'] == {'Training Time (s)': 12}
    assert index_problems(path) == []
    with pytest.raises(KeyError, match='no model'):
        update_metafile_entry(metafile, 'nope')


def test_update_keeps_the_comment_block_at_the_top(tmp_path):
    path = _repo(tmp_path, [_model(Results=[dict(PAPER)])])
    metafile = osp.join(osp.dirname(path), 'configs', 'm', 'metafile.yml')
    body = open(metafile).read()
    header = '# Results are the paper\'s figures.\n# Second line.\n'
    with open(metafile, 'w') as f:
        f.write(header + body)
    new = dict(MEASURED, Command=CMD, Metrics=dict(rank1=50.0, mAP=40.0))
    update_metafile_entry(metafile, 'm_r50_1xb64_market1501', results=[new])
    text = open(metafile).read()
    assert text.startswith(header)
    assert text.count('# Second line.') == 1
    assert yaml.safe_load(text)['Models'][0]['Results'] == [PAPER, new]
    assert index_problems(path) == []
