"""Verified, resumable downloads against a real HTTP server on 127.0.0.1 (see conftest.py)."""
import hashlib
import os
import time

import pytest

from mmreidparts.zoo import DownloadError, download_file, verify_file

DATA = bytes(range(256)) * 400  # 102400 bytes
SHA = hashlib.sha256(DATA).hexdigest()


def _cache_files(folder) -> list:
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def test_a_good_file_is_fetched_and_verified(file_server, tmp_path):
    file_server.files['w-1.pth'] = DATA
    dst = tmp_path / 'cache' / 'w-1.pth'
    out = download_file(f'{file_server.url}/w-1.pth', str(dst), SHA, len(DATA), timeout=5)
    assert out == str(dst) and dst.read_bytes() == DATA
    assert _cache_files(tmp_path / 'cache') == ['w-1.pth']  # no .part left
    assert file_server.log == [('w-1.pth', None)]


def test_a_cut_connection_is_resumed_with_a_range_request(file_server, tmp_path):
    file_server.files['w.pth'] = DATA
    file_server.faults['w.pth'] = ('cut', 30000)
    dst = tmp_path / 'w.pth'
    download_file(f'{file_server.url}/w.pth', str(dst), SHA, len(DATA), timeout=5, retries=2,
                  backoff=0)
    assert dst.read_bytes() == DATA
    assert file_server.log == [('w.pth', None), ('w.pth', 'bytes=30000-')]


def test_an_interrupted_download_resumes_in_the_next_call(file_server, tmp_path):
    file_server.files['w.pth'] = DATA
    file_server.faults['w.pth'] = ('cut', 40000)
    dst = tmp_path / 'w.pth'
    with pytest.raises(DownloadError, match=r'connection cut after 40000.*kept in .*w.pth.part'):
        download_file(f'{file_server.url}/w.pth', str(dst), SHA, len(DATA), timeout=5,
                      retries=0)
    assert not dst.exists() and (tmp_path / 'w.pth.part').stat().st_size == 40000
    download_file(f'{file_server.url}/w.pth', str(dst), SHA, len(DATA), timeout=5)
    assert dst.read_bytes() == DATA and not (tmp_path / 'w.pth.part').exists()
    assert file_server.log[-1] == ('w.pth', 'bytes=40000-')


def test_a_server_without_range_support_restarts_the_file(file_server, tmp_path):
    file_server.files['w.pth'] = DATA
    file_server.faults['w.pth'] = ('no_range', None)
    (tmp_path / 'w.pth.part').write_bytes(DATA[:5000])
    download_file(f'{file_server.url}/w.pth', str(tmp_path / 'w.pth'), SHA, len(DATA),
                  timeout=5)
    assert (tmp_path / 'w.pth').read_bytes() == DATA  # not the 5000 bytes twice


def test_a_stale_part_from_another_file_is_caught_by_the_hash(file_server, tmp_path):
    file_server.files['w.pth'] = DATA
    (tmp_path / 'w.pth.part').write_bytes(b'\0' * 5000)  # garbage from an older download
    with pytest.raises(DownloadError, match='does not match'):
        download_file(f'{file_server.url}/w.pth', str(tmp_path / 'w.pth'), SHA, len(DATA),
                      timeout=5)
    assert _cache_files(tmp_path) == []


def test_a_tampered_file_is_refused_and_removed(file_server, tmp_path):
    tampered = bytearray(DATA)
    tampered[-10] ^= 0xFF
    file_server.files['w.pth'] = bytes(tampered)
    with pytest.raises(DownloadError, match=f'does not match the model zoo \\({SHA}\\)'):
        download_file(f'{file_server.url}/w.pth', str(tmp_path / 'w.pth'), SHA, len(DATA),
                      timeout=5)
    assert _cache_files(tmp_path) == []


def test_a_truncated_file_is_refused_and_removed(file_server, tmp_path):
    file_server.files['w.pth'] = DATA[:60000]
    with pytest.raises(DownloadError, match='offers a file of 60000 bytes.*lists 102400'):
        download_file(f'{file_server.url}/w.pth', str(tmp_path / 'w.pth'), SHA, len(DATA),
                      timeout=5)
    assert _cache_files(tmp_path) == []


def test_a_truncated_file_found_only_on_resume_is_refused(file_server, tmp_path):
    # the first part came from the complete file; the server now holds a shorter one
    file_server.files['w.pth'] = DATA[:60000]
    (tmp_path / 'w.pth.part').write_bytes(DATA[:70000])
    with pytest.raises(DownloadError, match='HTTP 416.*shorter'):
        download_file(f'{file_server.url}/w.pth', str(tmp_path / 'w.pth'), SHA, len(DATA),
                      timeout=5)
    assert _cache_files(tmp_path) == []


def test_a_missing_file_gives_the_http_error(file_server, tmp_path):
    with pytest.raises(DownloadError, match=r'/nothing.pth: HTTP 404 Not Found'):
        download_file(f'{file_server.url}/nothing.pth', str(tmp_path / 'nothing.pth'), SHA,
                      len(DATA), timeout=5, retries=3)
    assert _cache_files(tmp_path) == []
    assert len(file_server.log) == 1  # a 404 is not retried


def test_a_server_that_never_answers_times_out(silent_server, tmp_path):
    start = time.monotonic()
    with pytest.raises(DownloadError, match=r'no answer within 0.3 s \(2 attempts'):
        download_file(f'{silent_server}/w.pth', str(tmp_path / 'w.pth'), SHA, len(DATA),
                      timeout=0.3, retries=1, backoff=0)
    assert time.monotonic() - start < 20  # bounded: 2 attempts of 0.3 s, not forever
    assert _cache_files(tmp_path) == []


def test_file_urls_and_hash_prefixes(tmp_path):
    src = tmp_path / 'mirror' / 'w.pth'
    src.parent.mkdir()
    src.write_bytes(DATA)
    out = download_file(src.as_uri(), str(tmp_path / 'cache' / 'w.pth'), SHA[:8], len(DATA))
    assert open(out, 'rb').read() == DATA
    with pytest.raises(ValueError, match='at least 8 hex digits'):
        verify_file(out, SHA[:4])
    with pytest.raises(DownloadError, match='102399 bytes, but the model zoo lists 102400'):
        src.write_bytes(DATA[:-1])
        verify_file(str(src), SHA, len(DATA))
