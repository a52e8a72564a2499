"""Verified, resumable downloads of model-zoo files.

A file is written to ``<dst>.part`` and renamed to ``<dst>`` only after its size and SHA-256
match the ones the zoo lists, so the cache never holds a file that was not checked. An
interrupted transfer resumes with an HTTP ``Range`` request (in the same call after a cut
connection, or in a later call from the ``.part`` left behind). Every socket operation has a
timeout and the number of attempts is bounded; every failure raises a
:class:`DownloadError` that names the URL and what went wrong.
"""
import hashlib
import http.client
import os
import os.path as osp
import re
import socket
import time
import urllib.error
import urllib.request
from typing import Optional

DEFAULT_TIMEOUT = 30.0  # seconds, per connection attempt and per read
DEFAULT_RETRIES = 3  # further attempts after a failed one (cut connection, timeout, 5xx)
CHUNK = 1 << 16
PART_SUFFIX = '.part'
_CONTENT_RANGE = re.compile(r'bytes (\d+)-(\d+)/(\d+|\*)')


class DownloadError(RuntimeError):
    """A download failed, or the file is not the one the zoo lists; the message says why."""


class _Retryable(Exception):
    """A transient failure: the next attempt resumes from what was received."""


def sha256_of(path: str, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(chunk), b''):
            digest.update(block)
    return digest.hexdigest()


def verify_file(path: str, sha256: Optional[str] = None, size: Optional[int] = None,
                what: Optional[str] = None) -> None:
    """Raise a DownloadError when ``path`` does not have the listed size or SHA-256.

    ``sha256`` may be the full hex digest or a prefix of it (at least 8 digits).
    """
    what = what or path
    if size is not None and osp.getsize(path) != int(size):
        raise DownloadError(f'{what}: {osp.getsize(path)} bytes, but the model zoo lists '
                            f'{int(size)}; the file is truncated or not the published one')
    if sha256:
        expected = str(sha256).lower()
        if len(expected) < 8:
            raise ValueError(f'{what}: a SHA-256 prefix needs at least 8 hex digits, got '
                             f'{sha256!r}')
        found = sha256_of(path)
        if not found.startswith(expected):
            raise DownloadError(f'{what}: SHA-256 {found} does not match the model zoo '
                                f'({expected}); the file is corrupt or not the published one')


def _remove(path: str) -> None:
    """Delete ``path`` if it exists."""
    if osp.lexists(path):
        os.remove(path)


def _status(resp) -> int:
    """HTTP status of a response (200 for ``file://`` responses, which have none)."""
    return int(getattr(resp, 'status', None) or 200)


def _open(url: str, offset: int, timeout: float):
    """Open ``url`` from byte ``offset``; map errors to DownloadError or _Retryable."""
    headers = {'User-Agent': 'mmreidparts-model-zoo'}
    if offset:
        headers['Range'] = f'bytes={offset}-'
    try:
        return urllib.request.urlopen(urllib.request.Request(url, headers=headers),
                                      timeout=timeout)
    except urllib.error.HTTPError as err:
        if err.code == 416 and offset:
            raise DownloadError(
                f'{url}: the server refuses to send bytes from {offset} on (HTTP 416): its '
                'file is shorter than the one the model zoo lists (truncated on the server?)'
            ) from err
        if err.code >= 500 or err.code == 429:
            raise _Retryable(f'HTTP {err.code} {err.reason}') from err
        raise DownloadError(f'{url}: HTTP {err.code} {err.reason}') from err
    except urllib.error.URLError as err:
        reason = err.reason
        if isinstance(reason, (socket.timeout, TimeoutError)):
            raise _Retryable(f'no answer within {timeout:g} s') from err
        if isinstance(reason, (ConnectionError, OSError)) and not isinstance(
                reason, FileNotFoundError):
            raise _Retryable(f'cannot connect: {reason}') from err
        raise DownloadError(f'{url}: {reason}') from err
    except (socket.timeout, TimeoutError) as err:
        raise _Retryable(f'no answer within {timeout:g} s') from err
    except (ConnectionError, http.client.HTTPException) as err:
        raise _Retryable(f'connection failed: {err!r}') from err


def _transfer(url: str, part: str, size: Optional[int], timeout: float) -> None:
    """One attempt: append the rest of ``url`` to ``part`` (restarting it if need be)."""
    have = osp.getsize(part) if osp.isfile(part) else 0
    if size is not None and have > size:
        _remove(part)
        have = 0
    if size is not None and have == size:
        return
    with _open(url, have, timeout) as resp:
        status = _status(resp)
        offset = 0
        if status == 206:
            match = _CONTENT_RANGE.match(resp.headers.get('Content-Range', ''))
            if not match or int(match.group(1)) != have:
                raise DownloadError(f'{url}: asked for bytes from {have} on, the server sent '
                                    f'"{resp.headers.get("Content-Range")}"')
            offset = have
        elif status != 200:
            raise DownloadError(f'{url}: unexpected HTTP status {status}')
        length = resp.headers.get('Content-Length')
        total = offset + int(length) if length is not None else None
        if size is not None and total is not None and total != size:
            raise DownloadError(f'{url}: the server offers a file of {total} bytes, the model '
                                f'zoo lists {size}; it is not the published file')
        written = offset
        with open(part, 'ab' if offset else 'wb') as out:
            while True:
                try:
                    block = resp.read(CHUNK)
                except (socket.timeout, TimeoutError) as err:
                    raise _Retryable(f'the transfer stalled for {timeout:g} s') from err
                except (http.client.IncompleteRead, ConnectionError) as err:
                    raise _Retryable(f'connection cut after {written} bytes') from err
                if not block:
                    break
                written += len(block)
                if size is not None and written > size:
                    raise DownloadError(f'{url}: the server sends more than the {size} bytes '
                                        'the model zoo lists; it is not the published file')
                out.write(block)
        if total is not None and written < total:
            raise _Retryable(f'connection cut after {written} of {total} bytes')
        if size is not None and written < size:
            raise _Retryable(f'the server sent {written} of {size} bytes')


def download_file(url: str,
                  dst: str,
                  sha256: Optional[str] = None,
                  size: Optional[int] = None,
                  timeout: float = DEFAULT_TIMEOUT,
                  retries: int = DEFAULT_RETRIES,
                  backoff: float = 0.5) -> str:
    """Download ``url`` to ``dst`` through ``dst.part``, verify it, then rename it; return dst.

    Args:
        url: http(s) or file URL.
        dst: final path; its folder is created.
        sha256: the listed SHA-256 (or a prefix of at least 8 hex digits); None skips it.
        size: the listed size in bytes; None skips the size checks.
        timeout: seconds allowed for connecting and for each read.
        retries: further attempts after a transient failure, each resuming with a
            ``Range`` request from the bytes already received.
        backoff: seconds to wait before the n-th retry, times n.

    Raises:
        DownloadError: the server refuses (HTTP 4xx), never answers, keeps failing, or sends
            a file of another size or hash. A file that failed verification is deleted; a
            partial transfer with some bytes is kept as ``dst.part`` for the next call.
    """
    os.makedirs(osp.dirname(osp.abspath(dst)), exist_ok=True)
    part = dst + PART_SUFFIX
    size = None if size is None else int(size)
    attempt = 0
    while True:
        attempt += 1
        try:
            _transfer(url, part, size, timeout)
            break
        except _Retryable as err:
            if attempt > retries:
                kept = osp.isfile(part) and osp.getsize(part) > 0
                if not kept:
                    _remove(part)
                note = (f'; the {osp.getsize(part)} bytes received are kept in {part} and the '
                        'next fetch resumes from there') if kept else ''
                raise DownloadError(f'{url}: {err} ({attempt} attempts, timeout '
                                    f'{timeout:g} s){note}') from None
            time.sleep(backoff * attempt)
        except Exception:  # not transient: nothing of this transfer is kept
            _remove(part)
            raise
    try:
        verify_file(part, sha256, size, what=f'{url} (downloaded)')
    except DownloadError:
        _remove(part)
        raise
    os.replace(part, dst)
    return dst
