"""A real HTTP server on 127.0.0.1 for the download tests, with Range support and faults."""
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, List, Optional, Tuple

import pytest

RANGE = re.compile(r'^bytes=(\d+)-$')


class FileServer:
    """Serves ``files`` at ``/<name>``; ``faults[name]`` changes how a name is served.

    Faults: ``('cut', n)`` sends the full Content-Length but closes after ``n`` bytes, on the
    first request only; ``('no_range', None)`` ignores Range headers (always 200). Every
    request is logged as ``(path, Range header or None)``.
    """

    def __init__(self) -> None:
        self.files: Dict[str, bytes] = {}
        self.faults: Dict[str, Tuple[str, Optional[int]]] = {}
        self.log: List[Tuple[str, Optional[str]]] = []
        self._cut_done: set = set()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                name = self.path.lstrip('/')
                server.log.append((name, self.headers.get('Range')))
                if name not in server.files:
                    self.send_error(404, 'Not Found')
                    return
                data = server.files[name]
                fault, arg = server.faults.get(name, (None, None))
                start = 0
                match = RANGE.match(self.headers.get('Range') or '')
                if match and fault != 'no_range':
                    start = int(match.group(1))
                    if start >= len(data):
                        self.send_response(416)
                        self.send_header('Content-Range', f'bytes */{len(data)}')
                        self.send_header('Content-Length', '0')
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header('Content-Range',
                                     f'bytes {start}-{len(data) - 1}/{len(data)}')
                else:
                    self.send_response(200)
                body = data[start:]
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                if fault == 'cut' and name not in server._cut_done:
                    server._cut_done.add(name)
                    self.wfile.write(body[:arg])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f'http://127.0.0.1:{self.httpd.server_address[1]}'
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05, ), daemon=True)
        self.thread.start()

    def close(self) -> None:
        """Stop serving."""
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def file_server():
    """A running :class:`FileServer`, stopped after the test."""
    server = FileServer()
    yield server
    server.close()


@pytest.fixture
def silent_server():
    """The URL of a server that accepts connections and never answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(('127.0.0.1', 0))
    sock.listen(8)
    yield f'http://127.0.0.1:{sock.getsockname()[1]}'
    sock.close()
