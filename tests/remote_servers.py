"""Servers for the remote-engine tests, all on 127.0.0.1: llama-cpp-python's real
OpenAI-compatible server on the embedded model, and tiny scripted HTTP servers of our own
(one that stalls, one that cuts a stream, one that answers a fixed status, a recorded
llama-server)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HOST = "127.0.0.1"
START_TIMEOUT_S = 90


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@contextmanager
def llama_cpp_server(model: Path, log: Path, n_ctx: int = 1024) -> Iterator[str]:
    """``python -m llama_cpp.server`` on the model; yields its URL once it answers."""
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(model),
        "--host",
        HOST,
        "--port",
        str(port),
        "--n_ctx",
        str(n_ctx),
    ]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://{HOST}:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited ({proc.returncode}): {log}")
            try:
                with urllib.request.urlopen(f"{url}/v1/models", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"llama_cpp.server did not answer in {START_TIMEOUT_S} s")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


Handler = Callable[[BaseHTTPRequestHandler, str, dict | None], None]


@contextmanager
def scripted_server(handle: Handler) -> Iterator[str]:
    """A tiny threaded HTTP server whose every request goes to ``handle(req, path, body)``."""

    class Req(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def _body(self) -> dict | None:
            n = int(self.headers.get("Content-Length") or 0)
            return json.loads(self.rfile.read(n)) if n else None

        def do_GET(self) -> None:
            handle(self, self.path, None)

        def do_POST(self) -> None:
            handle(self, self.path, self._body())

    server = ThreadingHTTPServer((HOST, 0), Req)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{HOST}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def send_json(req: BaseHTTPRequestHandler, data, status: int = 200) -> None:
    body = json.dumps(data).encode()
    req.send_response(status)
    req.send_header("Content-Type", "application/json")
    req.send_header("Content-Length", str(len(body)))
    req.end_headers()
    req.wfile.write(body)


def start_sse(req: BaseHTTPRequestHandler) -> None:
    req.send_response(200)
    req.send_header("Content-Type", "text/event-stream")
    req.send_header("Connection", "close")
    req.end_headers()


def send_event(req: BaseHTTPRequestHandler, data) -> None:
    text = data if isinstance(data, str) else json.dumps(data)
    req.wfile.write(f"data: {text}\n\n".encode())
    req.wfile.flush()


OPENAI_MODELS = {"object": "list", "data": [{"id": "tiny", "object": "model", "owned_by": "x"}]}
