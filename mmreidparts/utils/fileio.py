"""Crash-safe file writing: a reader sees either the old file or the whole new one."""
import os
import os.path as osp
import tempfile

_UMASK = os.umask(0)
os.umask(_UMASK)
TMP_SUFFIX = '.tmp'


def commit_file(tmp: str, path: str) -> None:
    """Flush ``tmp`` to disk and rename it to ``path`` in one atomic step."""
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def write_bytes_atomic(path: str, data: bytes, tmp_prefix: str = '.tmp-') -> None:
    """Write ``data`` to ``path`` so that readers see either nothing or the whole file.

    The bytes go to a temporary file ``<tmp_prefix>*.tmp`` in the same folder, which is
    flushed to disk and renamed over ``path``; an interrupted write leaves at most that
    temporary file, never a partial ``path``.
    """
    folder = osp.dirname(path) or '.'
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=tmp_prefix, suffix=TMP_SUFFIX, dir=folder)
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp creates 0600; use the usual file mode
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.unlink(tmp)
        raise
