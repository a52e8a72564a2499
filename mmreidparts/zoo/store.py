"""The local zoo directory and where an entry's weights come from.

Layout of the zoo directory (``$MMREIDPARTS_ZOO``, default ``~/.cache/mmreidparts/zoo``)::

    <name>-<sha256[:8]>.pth        published weights (downloaded, built or converted here)
    <name>-<sha256[:8]>.pth.part   a download in progress (resumed by the next fetch)
    builds/<name>.json             the record of a local build or conversion: file, SHA-256,
                                   size, commands, wall time, training images/s, figures

The weights of an entry are looked up in this order: the published file (the metafile's
``Weights`` name) in the zoo directory, then a local build of the entry, then a download from
the entry's URL (a full URL in ``Weights``, or the file name under the base URL
``$MMREIDPARTS_ZOO_URL``, e.g. an organisation's mirror). Every file is checked against the
SHA-256 and size listed for it before it is used.
"""
import json
import os
import os.path as osp
import warnings
from typing import Optional, Tuple

from .download import (
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    DownloadError,
    download_file,
    verify_file,
)
from .index import entry_kind

ZOO_ENV = 'MMREIDPARTS_ZOO'
URL_ENV = 'MMREIDPARTS_ZOO_URL'
DEFAULT_ZOO = osp.join('~', '.cache', 'mmreidparts', 'zoo')
BUILDS = 'builds'
# weights status of an entry, as ``tools/model_zoo.py list`` shows it
STATUSES = ('present', 'local build', 'downloadable', 'needs a mirror', 'download + convert',
            'build-only', '-')


class ZooWeightsError(FileNotFoundError):
    """An entry's weights are neither in the zoo directory nor downloadable; says what to do."""


def zoo_dir(path: Optional[str] = None) -> str:
    """The zoo directory: ``path``, else ``$MMREIDPARTS_ZOO``, else the default."""
    return osp.abspath(osp.expanduser(path or os.environ.get(ZOO_ENV) or DEFAULT_ZOO))


def base_url(url: Optional[str] = None) -> Optional[str]:
    """The base URL of published files: ``url``, else ``$MMREIDPARTS_ZOO_URL``, else None."""
    url = url or os.environ.get(URL_ENV) or None
    return url.rstrip('/') if url else None


def _is_url(text: str) -> bool:
    """Whether ``text`` is a URL (http, https or file)."""
    return text.startswith(('http://', 'https://', 'file://'))


def weights_file(entry: dict) -> Optional[str]:
    """The file name of an entry's published weights, or None."""
    weights = entry.get('Weights')
    return osp.basename(str(weights).split('?')[0]) if weights else None


def weights_url(entry: dict, url: Optional[str] = None) -> Optional[str]:
    """Where an entry's published weights can be downloaded, or None."""
    weights = entry.get('Weights')
    if not weights or osp.isabs(str(weights)):
        return None
    if _is_url(str(weights)):
        return str(weights)
    base = base_url(url)
    return f'{base}/{weights}' if base else None


def build_record_path(name: str, zoo: Optional[str] = None) -> str:
    """Path of the local build record of ``name``."""
    return osp.join(zoo_dir(zoo), BUILDS, f'{name}.json')


def read_build_record(name: str, zoo: Optional[str] = None) -> Optional[dict]:
    """The local build record of ``name``, or None."""
    path = build_record_path(name, zoo)
    if not osp.isfile(path):
        return None
    with open(path, encoding='utf-8') as f:
        return json.load(f)


def write_build_record(record: dict, zoo: Optional[str] = None) -> str:
    """Write the build record of ``record['name']`` (atomically); return its path."""
    path = build_record_path(record['name'], zoo)
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path + '.tmp', 'w', encoding='utf-8') as f:
        json.dump(record, f, indent=2)
    os.replace(path + '.tmp', path)
    return path


def _local_build(entry: dict, zoo: str) -> Optional[dict]:
    """The build record of ``entry`` whose file is in the zoo directory, or None."""
    record = read_build_record(entry['Name'], zoo)
    if record and osp.isfile(osp.join(zoo, record.get('file', ''))):
        return record
    return None


def weights_status(entry: dict, zoo: Optional[str] = None, url: Optional[str] = None) -> str:
    """One of :data:`STATUSES`: where ``get_model(name, pretrained=True)`` would find weights.

    'present' means the published file is in the zoo directory with the listed size (its hash
    is checked when it is used).
    """
    zoo = zoo_dir(zoo)
    weights = entry.get('Weights')
    if weights and osp.isabs(str(weights)):
        return 'present' if osp.isfile(str(weights)) else '-'
    name = weights_file(entry)
    if name and osp.isfile(osp.join(zoo, name)) and (
            entry.get('Size') is None or osp.getsize(osp.join(zoo, name)) == entry['Size']):
        return 'present'
    if _local_build(entry, zoo):
        return 'local build'
    if weights_url(entry, url):
        return 'downloadable'
    if weights:
        return 'needs a mirror'
    kind = entry_kind(entry)
    return {'official': 'download + convert', 'ours': 'build-only'}.get(kind, '-')


def _advice(entry: dict, zoo: str) -> str:
    """What a user can do to get the weights of ``entry``."""
    name = entry['Name']
    kind = entry_kind(entry)
    if kind == 'ours':
        return f'build them: python tools/model_zoo.py build {name}'
    if kind == 'official':
        conv = entry['Converted From']
        file = conv.get('File') or 'the checkpoint'
        return (f'download {file} from {conv.get("Weights")}, then: python tools/model_zoo.py '
                f'convert {name} <downloaded file>')
    return 'train the config and pass pretrained=<checkpoint path>'


def locate_weights(entry: dict,
                   zoo: Optional[str] = None,
                   url: Optional[str] = None,
                   download: bool = True,
                   timeout: float = DEFAULT_TIMEOUT,
                   retries: int = DEFAULT_RETRIES) -> Tuple[str, str]:
    """``(path, origin)`` of an entry's verified weights; origin 'published', 'local build'
    or 'downloaded'.

    Raises:
        ZooWeightsError: no file in the zoo directory and no URL to download from; the
            message says how to build, convert or mirror them.
        DownloadError: the download or the verification failed (nothing corrupt is kept).
    """
    zoo = zoo_dir(zoo)
    name = entry['Name']
    sha, size = entry.get('Sha256'), entry.get('Size')
    weights = entry.get('Weights')
    if weights and osp.isabs(str(weights)):  # a file on this machine, used in place
        verify_file(str(weights), sha, size, what=f'{name}: {weights}')
        return str(weights), 'published'
    file = weights_file(entry)
    if file:
        path = osp.join(zoo, file)
        if osp.isfile(path):
            try:
                verify_file(path, sha, size, what=f'{name}: {path}')
                return path, 'published'
            except DownloadError as err:
                warnings.warn(f'{err}; removed, fetching it again')
                os.remove(path)
    record = _local_build(entry, zoo)
    if record:
        path = osp.join(zoo, record['file'])
        verify_file(path, record.get('sha256'), record.get('size'), what=f'{name}: {path}')
        if sha and record.get('sha256') != sha:
            warnings.warn(f'{name}: using the local build {path} (SHA-256 '
                          f'{str(record.get("sha256"))[:8]}), not the published weights '
                          f'({str(sha)[:8]})')
        return path, 'local build'
    source = weights_url(entry, url)
    if source and download:
        path = osp.join(zoo, file)
        download_file(source, path, sha, size, timeout=timeout, retries=retries)
        return path, 'downloaded'
    where = f'{osp.join(zoo, file)} is not there' if file else 'no published weights'
    if file and not source:
        where += f' and no download URL is known (set {URL_ENV} to a mirror holding {file})'
    raise ZooWeightsError(f'model {name!r}: {where}; {_advice(entry, zoo)}')

