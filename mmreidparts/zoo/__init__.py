"""The model zoo: the model index, the local zoo directory, verified downloads, publishing."""
from .download import DownloadError, download_file, sha256_of, verify_file
from .index import (
    MODEL_INDEX,
    MetafileError,
    entry_kind,
    entry_problems,
    index_problems,
    load_index,
    load_official_releases,
    release_problems,
    update_metafile_entry,
)
from .publish import publish_checkpoint
from .store import (
    ZooWeightsError,
    base_url,
    locate_weights,
    read_build_record,
    weights_status,
    write_build_record,
    zoo_dir,
)

__all__ = [
    'DownloadError', 'download_file', 'sha256_of', 'verify_file', 'MODEL_INDEX',
    'MetafileError', 'entry_kind', 'entry_problems', 'index_problems', 'load_index',
    'load_official_releases', 'release_problems', 'update_metafile_entry', 'publish_checkpoint',
    'ZooWeightsError', 'base_url', 'locate_weights', 'read_build_record', 'weights_status',
    'write_build_record', 'zoo_dir'
]
