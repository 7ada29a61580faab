"""A small HTTP client for model servers: JSON requests, server-sent events, readable errors.

Standard library only (http.client). Each thread keeps its own keep-alive connection, so
several requests can be in flight at once (``eval --concurrency``).
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
from collections.abc import Iterator
from urllib.parse import urlsplit

from gptplay.errors import GptplayError

DEFAULT_TIMEOUT_S = 60.0
DONE: dict = {"[DONE]": True}  # what sse() yields for the OpenAI end-of-stream marker


class RemoteError(GptplayError):
    """A server that cannot be reached, or that answers with an error."""


class StreamCutError(RemoteError):
    """A stream that ended before the server said it was complete; what came is kept."""


def _reason(status: int) -> str:
    try:
        from http import HTTPStatus

        return HTTPStatus(status).phrase
    except ValueError:
        return "error"


def _server_message(body: bytes) -> str:
    """The error text a server put in its body: OpenAI's, llama-server's or FastAPI's shape."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return body.decode("utf-8", "replace").strip()[:200]
    if isinstance(data, dict):
        err = data.get("error", data.get("detail", data.get("message")))
        if isinstance(err, dict):
            err = err.get("message", err)
        if isinstance(err, list) and err and isinstance(err[0], dict):  # FastAPI validation
            err = "; ".join(str(e.get("msg", e)) for e in err[:3])
        if err is not None:
            return str(err)[:300]
    return str(data)[:200]


class Http:
    """Requests to one server base URL, with a timeout and an optional bearer key."""

    def __init__(
        self, url: str, api_key: str | None = None, timeout: float = DEFAULT_TIMEOUT_S
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise RemoteError(
                f"{url!r} is not a server URL.", hint="write it like http://127.0.0.1:8080"
            )
        self.url = url.rstrip("/")
        self.scheme, self.host = parts.scheme, parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.prefix = parts.path.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout
        self._local = threading.local()

    # ---- connections --------------------------------------------------------------

    def _connection(self, fresh: bool = False) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None or fresh:
            if conn is not None:
                conn.close()
            https = self.scheme == "https"
            cls = http.client.HTTPSConnection if https else http.client.HTTPConnection
            conn = self._local.conn = cls(self.host, self.port, timeout=self.timeout)
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def _headers(self, body: bytes | None, stream: bool) -> dict[str, str]:
        headers = {"Accept": "text/event-stream" if stream else "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    def _send(
        self, method: str, path: str, payload: dict | None, stream: bool = False
    ) -> http.client.HTTPResponse:
        body = None if payload is None else json.dumps(payload).encode("utf-8")
        headers = self._headers(body, stream)
        for attempt in (0, 1):
            conn = self._connection(fresh=attempt == 1)
            reused = getattr(conn, "sock", None) is not None
            try:
                conn.request(method, self.prefix + path, body=body, headers=headers)
                return conn.getresponse()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                # a kept-alive connection the server has since closed: one fresh try
                if attempt == 0 and reused:
                    continue
                raise self._network_error(exc, path) from None
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                raise self._network_error(exc, path) from None
        raise AssertionError("unreachable")

    def _network_error(self, exc: BaseException, path: str) -> RemoteError:
        self.close()
        where = f"the server at {self.url}"
        if isinstance(exc, ConnectionRefusedError):
            return RemoteError(
                f"Cannot reach {where}: connection refused.",
                hint="start the server (e.g. llama-server -m MODEL.gguf --port "
                f"{self.port}), or check the host and port in --model.",
            )
        if isinstance(exc, socket.gaierror):
            return RemoteError(
                f"Cannot reach {where}: unknown host {self.host!r}.",
                hint="check the host name in --model.",
            )
        if isinstance(exc, TimeoutError | socket.timeout):
            return RemoteError(
                f"{where[0].upper()}{where[1:]} did not answer {path} within {self.timeout:g} s.",
                hint="it may be overloaded, stalled or still loading: check its log, or raise "
                "the alias's timeout in config.toml.",
            )
        return RemoteError(
            f"Lost the connection to {where} during {path}: {exc or type(exc).__name__}.",
            hint="check that the server is still running (its log says why it closed).",
        )

    # ---- requests -----------------------------------------------------------------

    def status_error(self, status: int, path: str, body: bytes) -> RemoteError:
        """The one-line error for an HTTP error status."""
        said = _server_message(body)
        head = f"{self.url}{path} answered {status} {_reason(status)}"
        head += f": {said}" if said else "."
        if status in (401, 403):
            return RemoteError(
                head,
                hint="the server wants an API key: add api_key_env = 'NAME' to the alias in "
                "config.toml and export NAME=KEY (or set GPTPLAY_API_KEY).",
            )
        if status == 404:
            return RemoteError(
                head,
                hint="point --model at the server's base URL (like http://HOST:PORT, without "
                "/v1 or /completion); it must be llama-server or OpenAI-compatible.",
            )
        if status >= 500:
            return RemoteError(head, hint="the server failed: its log says why.")
        return RemoteError(head, hint="the server refused the request; its log says why.")

    def json(self, method: str, path: str, payload: dict | None = None) -> dict | list:
        """Send a request and return its JSON body; errors become RemoteError."""
        resp = self._send(method, path, payload)
        try:
            body = resp.read()
        except (OSError, http.client.HTTPException) as exc:
            raise self._network_error(exc, path) from None
        if resp.status >= 400:
            raise self.status_error(resp.status, path, body)
        try:
            return json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise RemoteError(
                f"{self.url}{path} answered with something that is not JSON.",
                hint="is --model the URL of a model server (llama-server, vLLM, llama-cpp-python)?",
            ) from None

    def probe(self, path: str) -> dict | list | None:
        """GET a path that only some servers have: its JSON, or None for 404/405/non-JSON."""
        resp = self._send("GET", path, None)
        try:
            body = resp.read()
        except (OSError, http.client.HTTPException) as exc:
            raise self._network_error(exc, path) from None
        if resp.status in (401, 403):
            raise self.status_error(resp.status, path, body)
        if resp.status >= 400:
            return None
        try:
            return json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return None

    def sse(self, path: str, payload: dict) -> Iterator[dict]:
        """POST and yield each server-sent event's JSON; ``DONE`` for ``[DONE]``, then stops.

        A connection lost or timed out mid-stream raises StreamCutError; an end of stream
        without ``[DONE]`` simply returns (the caller knows whether it saw the last event).
        """
        resp = self._send("POST", path, payload, stream=True)
        if resp.status >= 400:
            try:
                body = resp.read()
            except (OSError, http.client.HTTPException):
                body = b""
            raise self.status_error(resp.status, path, body)
        try:
            while True:
                line = resp.readline()
                if not line:
                    return
                line = line.strip()
                if not line.startswith(b"data:"):
                    continue  # comments (": ping"), event names, blank separators
                data = line[5:].strip()
                if data == b"[DONE]":
                    yield DONE
                    return
                try:
                    event = json.loads(data)
                except (ValueError, UnicodeDecodeError):
                    continue
                if isinstance(event, dict) and "error" in event:
                    raise RemoteError(
                        f"{self.url}{path} reported an error mid-stream: {_server_message(data)}",
                        hint="the server's log says why.",
                    )
                yield event
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise StreamCutError(
                f"The stream from {self.url} was cut: {self._network_error(exc, path).message}",
                hint="what arrived is kept; check the server and run again.",
            ) from None
        finally:
            resp.close()
            self.close()  # the body may be half-read: this connection cannot be reused
