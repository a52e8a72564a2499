"""The model index: ``model-index.yml`` and the ``metafile.yml`` files it imports.

The format is OpenMMLab's: the root ``model-index.yml`` holds ``Import: [configs/<method>/
metafile.yml, ...]``; each metafile has ``Collections`` (one per method: Name, Paper, Code,
README, Metadata) and ``Models``. A model entry has ``Name``, ``In Collection``, ``Config``,
``Metadata`` and ``Results`` (Task, Dataset, Metrics, and here also ``Source`` and, for
figures of this code base, the ``Command`` that reproduces them), and optionally

- ``Weights`` (a file name under the zoo's base URL, or a full URL), ``Sha256`` and ``Size``;
- ``Build``: how ``tools/model_zoo.py build`` trains, publishes and evaluates the entry;
- ``Converted From``: the authors' checkpoint (download page, file name, code) and the
  converter command that turns it into ours.

docs/model_zoo.md describes every field. Entries are returned as plain dicts with the
``Config`` made absolute; ``_metafile`` and ``_collection`` say where an entry comes from.
"""
import copy
import os
import os.path as osp
import re
import shlex
from typing import Any, Dict, List, Optional, Sequence

import yaml

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MODEL_INDEX = osp.join(REPO_ROOT, 'model-index.yml')
OFFICIAL_RELEASES = osp.join(REPO_ROOT, 'configs', 'official_releases.yml')
TASK = 'Person Re-identification'
# where a figure comes from; the last two need the command that reproduces them
SOURCES = ('paper', 'measured', 'official weights, converted')
SOURCES_WITH_COMMAND = ('measured', 'official weights, converted')
METRICS = ('rank1', 'mAP')
# which queries a figure ranks: all of them, the occluded ones, or partial crops
QUERIES = re.compile(r'^(all|occluded|partial (top|bottom|left|right) (0\.[0-9]+|1\.0))$')
BUILD_KEYS = ('Train Options', 'Train Cfg Options', 'Test Cfg Options', 'Data', 'Dataset',
              'Evaluate')
BUILD_DATA = ('synthetic', )
CONVERTED_KEYS = ('Weights', 'File', 'Code', 'Converter', 'Sha256')
NAME = re.compile(r'^[a-z0-9][a-z0-9_]*$')
SHA256 = re.compile(r'^[0-9a-f]{64}$')


class MetafileError(ValueError):
    """A metafile or the model index is malformed; the message names the file and entry."""


def read_yaml(path: str) -> Any:
    """The content of a YAML file, with the file named in every error."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'model zoo file not found: {path}')
    with open(path, encoding='utf-8') as f:
        try:
            return yaml.safe_load(f)
        except yaml.YAMLError as err:
            raise MetafileError(f'{path}: not valid YAML: {err}') from err


def index_files(index_path: str = MODEL_INDEX) -> List[str]:
    """Absolute paths of the metafiles a ``model-index.yml`` imports."""
    data = read_yaml(index_path) or {}
    imports = data.get('Import') if isinstance(data, dict) else None
    if not isinstance(imports, list) or not all(isinstance(p, str) for p in imports):
        raise MetafileError(f'{index_path}: expected "Import: [configs/<method>/metafile.yml,'
                            f' ...]", got {data!r}')
    root = osp.dirname(osp.abspath(index_path))
    return [p if osp.isabs(p) else osp.join(root, p) for p in imports]


def _scan_metafiles(config_root: str) -> List[str]:
    """Paths of every ``<config_root>/*/metafile.yml``."""
    names = sorted(os.listdir(config_root)) if osp.isdir(config_root) else []
    paths = [osp.join(config_root, n, 'metafile.yml') for n in names]
    return [p for p in paths if osp.isfile(p)]


def load_metafile(path: str, root: str) -> Dict[str, dict]:
    """The model entries of one metafile by name, ``Config`` made absolute against ``root``."""
    data = read_yaml(path) or {}
    if not isinstance(data, dict):
        raise MetafileError(f'{path}: expected a mapping with Collections and Models')
    collections = {c.get('Name'): c for c in data.get('Collections') or []
                   if isinstance(c, dict)}
    out: Dict[str, dict] = {}
    for entry in data.get('Models') or []:
        if not isinstance(entry, dict) or not entry.get('Name') or not entry.get('Config'):
            raise MetafileError(f'{path}: every model needs a Name and a Config, got {entry!r}')
        name = entry['Name']
        if name in out:
            raise MetafileError(f'{path}: model name {name!r} is listed twice')
        entry = copy.deepcopy(entry)
        cfg = entry['Config']
        entry['Config'] = cfg if osp.isabs(cfg) else osp.join(root, cfg)
        entry['_metafile'] = osp.abspath(path)
        entry['_collection'] = collections.get(entry.get('In Collection'))
        out[name] = entry
    return out


def load_index(source: Optional[str] = None) -> Dict[str, dict]:
    """Every model of the zoo by name.

    Args:
        source: a ``model-index.yml`` (default: the repository's), or a folder of method
            folders, each with a ``metafile.yml`` (their configs relative to the folder's
            parent).
    """
    source = source or MODEL_INDEX
    if osp.isdir(source):
        paths, root = _scan_metafiles(source), osp.dirname(osp.abspath(source))
    else:
        paths, root = index_files(source), osp.dirname(osp.abspath(source))
    index: Dict[str, dict] = {}
    for path in paths:
        for name, entry in load_metafile(path, root).items():
            if name in index:
                raise MetafileError(f'{path}: model name {name!r} is already listed in '
                                    f'{index[name]["_metafile"]}')
            index[name] = entry
    return index


def entry_kind(entry: dict) -> str:
    """'ours' (built by this code base), 'official' (authors' weights) or 'config' (neither)."""
    if entry.get('Converted From'):
        return 'official'
    if entry.get('Build') is not None:
        return 'ours'
    return 'config'


def result_source(result: dict) -> str:
    """The kind of a result's ``Source``: one of :data:`SOURCES`, or '' when unknown."""
    text = str(result.get('Source', '')).strip()
    for source in SOURCES:
        if text == source or text.startswith(source + ' ('):
            return source
    return ''


def result_queries(result: dict) -> str:
    """Which queries a result ranks (``Queries``, default 'all')."""
    return str(result.get('Queries', 'all'))


def clean_entry(entry: dict) -> dict:
    """The entry as written in its metafile (without the loader's private keys)."""
    return {k: v for k, v in entry.items() if not k.startswith('_')}


def _relative(path: str, root: str) -> str:
    """``path`` relative to ``root`` when it lies below it."""
    rel = osp.relpath(path, root)
    return path if rel.startswith('..') else rel


def command_problems(command: Any, entry: dict, root: str) -> List[str]:
    """Why ``command`` cannot reproduce a figure of ``entry`` (empty when it can).

    It must run at least one script under ``tools/`` that exists, and name the entry (its
    ``Name`` or its config path).
    """
    if not isinstance(command, str) or not command.strip():
        return ['a figure of this code base needs a Command that reproduces it']
    try:
        tokens = shlex.split(command)
    except ValueError as err:
        return [f'Command {command!r} does not parse: {err}']
    scripts = [t for t in tokens if t.startswith('tools/')]
    problems = [f'Command names {t}, which does not exist' for t in scripts
                if not osp.isfile(osp.join(root, t))]
    if not scripts:
        problems.append(f'Command {command!r} runs no script of tools/')
    config = _relative(entry['Config'], root)
    if not any(entry['Name'] in t or config in t for t in tokens):
        problems.append(f'Command {command!r} names neither {entry["Name"]} nor {config}')
    return problems


def _result_problems(result: Any, entry: dict, root: str) -> List[str]:
    """What is wrong with one ``Results`` item."""
    if not isinstance(result, dict):
        return [f'a Results item must be a mapping, got {result!r}']
    problems = []
    if result.get('Task') != TASK:
        problems.append(f'Results Task must be {TASK!r}, got {result.get("Task")!r}')
    if not isinstance(result.get('Dataset'), str):
        problems.append('a Results item needs a Dataset')
    metrics = result.get('Metrics')
    if not isinstance(metrics, dict) or not set(METRICS) <= set(metrics):
        problems.append(f'Results Metrics must hold {METRICS}, got {metrics!r}')
    else:
        for key, value in metrics.items():
            if not isinstance(value, (int, float)) or not 0 <= value <= 100:
                problems.append(f'Metrics {key}={value!r} is not a percentage')
    source = result_source(result)
    if not source:
        problems.append(f'Results Source must start with one of {SOURCES}, got '
                        f'{result.get("Source")!r}')
    if source in SOURCES_WITH_COMMAND:
        problems += command_problems(result.get('Command'), entry, root)
    if not QUERIES.match(result_queries(result)):
        problems.append(f'Results Queries must be all, occluded or "partial <side> <ratio>",'
                        f' got {result_queries(result)!r}')
    return problems


def _weights_problems(entry: dict) -> List[str]:
    """What is wrong with ``Weights`` / ``Sha256`` / ``Size``."""
    if not entry.get('Weights'):
        return ['Sha256 or Size without Weights'] if entry.get('Sha256') or entry.get(
            'Size') else []
    problems = []
    sha = str(entry.get('Sha256', ''))
    if not SHA256.match(sha):
        problems.append(f'Weights need the full Sha256 (64 hex digits), got {sha!r}')
    elif sha[:8] not in osp.basename(str(entry['Weights'])):
        problems.append(f'the Weights file name must hold the hash prefix {sha[:8]} '
                        '(name-<sha256[:8]>.pth, as publish_model.py writes it)')
    size = entry.get('Size')
    if not isinstance(size, int) or size <= 0:
        problems.append(f'Weights need their Size in bytes, got {size!r}')
    return problems


def _build_problems(build: Any) -> List[str]:
    """What is wrong with a ``Build`` block."""
    if not isinstance(build, dict):
        return [f'Build must be a mapping with some of {BUILD_KEYS}, got {build!r}']
    problems = [f'Build has an unknown key {k!r} (expected some of {BUILD_KEYS})'
                for k in build if k not in BUILD_KEYS]
    options = build.get('Train Options', [])
    if not isinstance(options, list) or not all(isinstance(o, str) for o in options):
        problems.append(f'Build Train Options must be a list of tools/train.py arguments, '
                        f'got {options!r}')
    for key in ('Train Cfg Options', 'Test Cfg Options'):
        if not isinstance(build.get(key, {}), dict):
            problems.append(f'Build {key} must map config keys to values')
    if build.get('Data') is not None and build['Data'] not in BUILD_DATA:
        problems.append(f'Build Data must be one of {BUILD_DATA}, got {build["Data"]!r}')
    evaluate = build.get('Evaluate', ['all'])
    if not isinstance(evaluate, list) or not all(
            isinstance(q, str) and QUERIES.match(q) for q in evaluate):
        problems.append(f'Build Evaluate must list queries (all, occluded, "partial top '
                        f'0.5", ...), got {evaluate!r}')
    if not isinstance(build.get('Dataset'), str):
        problems.append('Build needs the Dataset its figures are reported on')
    return problems


def converter_problems(converter: Any, root: str) -> List[str]:
    """What is wrong with a converter command template (``{src}`` and ``{dst}`` in it)."""
    if not isinstance(converter, str):
        return [f'Converter must be a command with {{src}} and {{dst}}, got {converter!r}']
    tokens = shlex.split(converter)
    problems = []
    if '{src}' not in tokens or '{dst}' not in tokens:
        problems.append(f'Converter {converter!r} must take {{src}} and {{dst}}')
    scripts = [t for t in tokens if t.startswith('tools/model_converters/')]
    if len(scripts) != 1 or not osp.isfile(osp.join(root, scripts[0])):
        problems.append(f'Converter {converter!r} must run one existing script of '
                        'tools/model_converters/')
    return problems


def _converted_problems(block: Any, root: str, pending: bool = False) -> List[str]:
    """What is wrong with a ``Converted From`` block (``Converter`` may be null if pending)."""
    if not isinstance(block, dict):
        return [f'Converted From must be a mapping with {CONVERTED_KEYS}, got {block!r}']
    problems = [f'Converted From has an unknown key {k!r}' for k in block
                if k not in CONVERTED_KEYS]
    for key in ('Weights', 'Code'):
        if not str(block.get(key, '')).startswith(('http://', 'https://')):
            problems.append(f'Converted From needs the {key} page (an http(s) address)')
    if 'File' not in block:
        problems.append('Converted From needs the File name of the release (null if the '
                        'release does not name it)')
    if block.get('Sha256') is not None and not SHA256.match(str(block['Sha256'])):
        problems.append('Converted From Sha256 must be 64 hex digits')
    if not (pending and block.get('Converter') is None):
        problems += converter_problems(block.get('Converter'), root)
    return problems


def entry_problems(entry: dict, root: str = REPO_ROOT) -> List[str]:
    """Everything wrong with one model entry (empty when it is well-formed)."""
    problems = []
    if not NAME.match(str(entry.get('Name', ''))):
        problems.append('Name must be lower case letters, digits and underscores')
    if entry.get('_collection') is None:
        problems.append(f'In Collection {entry.get("In Collection")!r} is not a Collection of '
                        'its metafile')
    config = entry['Config']
    if not osp.isfile(config):
        problems.append(f'Config {config} does not exist')
    elif osp.dirname(config) != osp.dirname(entry.get('_metafile', config)):
        problems.append(f'Config {config} is not in the folder of its metafile')
    results = entry.get('Results', [])
    if not isinstance(results, list):
        problems.append('Results must be a list')
        results = []
    for result in results:
        problems += _result_problems(result, entry, root)
    problems += _weights_problems(entry)
    if entry.get('Build') is not None:
        problems += _build_problems(entry['Build'])
    if entry.get('Converted From') is not None:
        problems += _converted_problems(entry['Converted From'], root)
        if entry.get('Build') is not None:
            problems.append('an entry is either built here (Build) or converted '
                            '(Converted From), not both')
    return [f'{entry.get("_metafile")}: {entry.get("Name")}: {p}' for p in problems]


def collection_problems(path: str, root: str = REPO_ROOT) -> List[str]:
    """What is wrong with the Collections of one metafile."""
    data = read_yaml(path) or {}
    problems = []
    collections = data.get('Collections') or []
    if not collections:
        problems.append('no Collections')
    for coll in collections:
        name = coll.get('Name') if isinstance(coll, dict) else None
        if not name:
            problems.append(f'a Collection needs a Name, got {coll!r}')
            continue
        paper = coll.get('Paper') or {}
        if not paper.get('Title') or not str(paper.get('URL', '')).startswith('http'):
            problems.append(f'Collection {name}: Paper needs a Title and a URL')
        if not str((coll.get('Code') or {}).get('URL', '')).startswith('http'):
            problems.append(f'Collection {name}: Code needs a URL')
        if not isinstance(coll.get('Metadata'), dict):
            problems.append(f'Collection {name}: Metadata missing')
        readme = coll.get('README')
        if not readme or not osp.isfile(osp.join(root, readme)):
            problems.append(f'Collection {name}: README {readme!r} does not exist')
    return [f'{path}: {p}' for p in problems]


def index_problems(index_path: str = MODEL_INDEX) -> List[str]:
    """Everything wrong with a model index: imports, collections, entries, config coverage.

    Besides the entries themselves, every folder of configs (``configs/<method>/*.py``, not
    ``_base_``) must have a ``metafile.yml``, every metafile must be imported, and every
    config of a method folder must be listed in its folder's metafile.
    """
    root = osp.dirname(osp.abspath(index_path))
    problems: List[str] = []
    imports = index_files(index_path)
    for path in imports:
        if not osp.isfile(path):
            problems.append(f'{index_path}: imports {path}, which does not exist')
    config_root = osp.join(root, 'configs')
    for path in _scan_metafiles(config_root):
        if osp.abspath(path) not in [osp.abspath(p) for p in imports]:
            problems.append(f'{index_path}: does not import {_relative(path, root)}')
    for name in sorted(os.listdir(config_root)) if osp.isdir(config_root) else []:
        folder = osp.join(config_root, name)
        if (name != '_base_' and osp.isdir(folder) and not osp.isfile(
                osp.join(folder, 'metafile.yml')) and any(
                    n.endswith('.py') for n in os.listdir(folder))):
            problems.append(f'{_relative(folder, root)}: configs without a metafile.yml')
    if problems:
        return problems
    index = load_index(index_path)
    for path in imports:
        problems += collection_problems(path, root)
    for entry in index.values():
        problems += entry_problems(entry, root)
    listed = {osp.abspath(e['Config']) for e in index.values()}
    for path in imports:
        folder = osp.dirname(path)
        for name in sorted(os.listdir(folder)):
            cfg = osp.join(folder, name)
            if name.endswith('.py') and osp.abspath(cfg) not in listed:
                problems.append(f'{_relative(path, root)}: does not list the config '
                                f'{_relative(cfg, root)}')
    return problems


def load_official_releases(path: str = OFFICIAL_RELEASES) -> List[dict]:
    """The authors' checkpoints whose converter or config is not in the code base yet."""
    if not osp.isfile(path):
        return []
    data = read_yaml(path) or {}
    releases = data.get('Releases') if isinstance(data, dict) else None
    if not isinstance(releases, list):
        raise MetafileError(f'{path}: expected "Releases: [...]"')
    return releases


def release_problems(release: Any, root: str = REPO_ROOT) -> List[str]:
    """What is wrong with one pending official release (the shared placeholder format)."""
    if not isinstance(release, dict):
        return [f'a release must be a mapping, got {release!r}']
    problems = []
    for key in ('Name', 'In Collection', 'Method Folder'):
        if not isinstance(release.get(key), str):
            problems.append(f'needs {key}')
    if not NAME.match(str(release.get('Name', ''))):
        problems.append('Name must be lower case letters, digits and underscores')
    problems += _converted_problems(release.get('Converted From'), root, pending=True)
    fake = dict(Name=release.get('Name', ''), Config=str(release.get('Config', '')))
    for result in release.get('Results', []) or []:
        problems += _result_problems(result, fake, root)
        if isinstance(result, dict) and result_source(result) != 'paper':
            problems.append("a pending release lists the authors' figures (Source: paper)")
    return [f'{release.get("Name")}: {p}' for p in problems]


class _MetafileDumper(yaml.SafeDumper):
    """Safe YAML dumper that writes repeated values in full (no ``&id``/``*id`` aliases)."""

    def ignore_aliases(self, data) -> bool:
        """Never emit an alias."""
        return True


def _leading_comments(path: str) -> str:
    """The comment block at the top of an existing file (kept when the file is rewritten)."""
    if not osp.isfile(path):
        return ''
    kept = []
    with open(path, encoding='utf-8') as f:
        for line in f:
            if not line.startswith('#'):
                break
            kept.append(line if line.endswith('\n') else line + '\n')
    return ''.join(kept)


def write_metafile(path: str, data: dict) -> None:
    """Write a metafile in the canonical layout (block style, keys in their given order).

    The comment block at the top of the file, which YAML does not carry through a load and
    dump, is written back unchanged.
    """
    text = _leading_comments(path) + yaml.dump(
        data, Dumper=_MetafileDumper, sort_keys=False, allow_unicode=True, width=99,
        default_flow_style=False)
    tmp = path + '.tmp'
    with open(tmp, 'w', encoding='utf-8') as f:
        f.write(text)
    os.replace(tmp, path)


def update_metafile_entry(path: str,
                          name: str,
                          weights: Optional[dict] = None,
                          metadata: Optional[dict] = None,
                          results: Sequence[dict] = ()) -> dict:
    """Record a build or a conversion in a metafile; return the updated entry.

    ``weights`` (``Weights``, ``Sha256``, ``Size``) replace the entry's; ``metadata`` keys
    are merged into its ``Metadata``; each of ``results`` replaces the result of the same
    Dataset, Queries and Source kind, or is appended.
    """
    data = read_yaml(path) or {}
    models = data.get('Models') or []
    found = [m for m in models if m.get('Name') == name]
    if not found:
        raise KeyError(f'{path}: no model {name!r}')
    entry = found[0]
    for key, value in (weights or {}).items():
        entry[key] = value
    if metadata:
        entry.setdefault('Metadata', {}).update(metadata)
    listed = entry.setdefault('Results', [])
    for new in results:
        key = (new.get('Dataset'), result_queries(new), result_source(new))
        for i, old in enumerate(listed):
            if (old.get('Dataset'), result_queries(old), result_source(old)) == key:
                listed[i] = new
                break
        else:
            listed.append(new)
    # keep the OpenMMLab order: weights after the results
    order = ['Name', 'In Collection', 'Config', 'Metadata', 'Results', 'Weights', 'Sha256',
             'Size']
    ordered = {k: entry[k] for k in order if k in entry}
    ordered.update({k: v for k, v in entry.items() if k not in ordered})
    models[models.index(entry)] = ordered
    write_metafile(path, data)
    return ordered
