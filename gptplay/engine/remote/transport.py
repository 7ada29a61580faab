"""A small HTTP client for model servers: JSON requests, server-sent events, readable errors.

Standard library only (http.client). Each thread keeps its own keep-alive connection, so
several requests can be in flight at once (``eval --concurrency``).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

from gptplay.engine.remote.endpoints import Endpoints, api_path
from gptplay.errors import GptplayError
from gptplay.secrets import escape_controls, keep_secret, redact, split_credentials

DEFAULT_TIMEOUT_S = 60.0
DONE: dict = {"[DONE]": True}  # what sse() yields for the OpenAI end-of-stream marker
MAX_BODY = 256 * 1024 * 1024  # a JSON answer larger than this is refused, not read
MAX_LINE = 16 * 1024 * 1024  # one server-sent event line
READ_SIZE = 64 * 1024


class RemoteError(GptplayError):
    """A server that cannot be reached, or that answers with an error."""


class StreamCutError(RemoteError):
    """A stream that ended before the server said it was complete; what came is kept."""


class ServerUrlError(RemoteError):
    """A ``--model`` URL that cannot name a server."""

    exit_code = 2


def _reason(status: int) -> str:
    try:
        from http import HTTPStatus

        return HTTPStatus(status).phrase
    except ValueError:
        return "error"


def _not_finite(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def loads(body: bytes | str) -> object:
    """Strict JSON: NaN and Infinity, which Python's json accepts, are refused."""
    return json.loads(body, parse_constant=_not_finite)


def server_text(text: str, limit: int = 300) -> str:
    """Text a server sent, as it may be shown: keys masked, control characters escaped."""
    return escape_controls(redact(text.strip()))[:limit]


def _server_message(body: bytes) -> str:
    """The error text a server put in its body: OpenAI's, llama-server's or FastAPI's shape."""
    try:
        data = loads(body)
    except (ValueError, UnicodeDecodeError):
        return server_text(body.decode("utf-8", "replace"), 200)
    if isinstance(data, dict):
        err = data.get("error", data.get("detail", data.get("message")))
        if isinstance(err, dict):
            err = err.get("message", err)
        if isinstance(err, list) and err and isinstance(err[0], dict):  # FastAPI validation
            err = "; ".join(str(e.get("msg", e)) for e in err[:3])
        if err is not None:
            return server_text(str(err))
    return server_text(str(data), 200)


def parse_url(url: str) -> tuple[str, str, str, int, str, str | None, str | None]:
    """(public URL, scheme, host, port, path prefix, user, password) of a server URL."""
    public, user, password = split_credentials(url)
    shown = public
    try:
        parts = urlsplit(public)
        port = parts.port
    except ValueError as exc:
        raise ServerUrlError(
            f"--model {escape_controls(shown)!r} is not a server URL: {exc}.",
            hint="write it like http://127.0.0.1:8080 (an IPv6 host in brackets: "
            "http://[::1]:8080; a port from 1 to 65535).",
        ) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ServerUrlError(
            f"--model {escape_controls(shown)!r} is not a server URL.",
            hint="write it like http://127.0.0.1:8080",
        )
    if port == 0:
        raise ServerUrlError(f"--model {shown!r}: port 0 is not a server's port.")
    port = port or (443 if parts.scheme == "https" else 80)
    return (
        public.rstrip("/"),
        parts.scheme,
        parts.hostname,
        port,
        parts.path.rstrip("/"),
        user,
        password,
    )


class Watchdog:
    """Shuts a request's socket down when its deadline passes, whatever the read in progress.

    A socket timeout bounds each read, not the request: a server dripping a byte a second
    (in its headers, a chunk size, one event line) would hold it for ever. The deadline can
    be moved on (a stream gets ``timeout`` seconds per event).
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds
        self.sock: socket.socket | None = None
        self.fired = False
        self._done = False
        self._cond = threading.Condition()
        threading.Thread(target=self._run, name="gptplay-watchdog", daemon=True).start()

    def _run(self) -> None:
        with self._cond:
            while not self._done:
                left = self.deadline - time.monotonic()
                if left <= 0:
                    self.fired = True
                    if self.sock is not None:
                        with contextlib.suppress(OSError):
                            self.sock.shutdown(socket.SHUT_RDWR)
                    return
                self._cond.wait(left)

    def renew(self) -> None:
        """Another ``seconds`` from now (the thread rereads the deadline when it wakes)."""
        self.deadline = time.monotonic() + self.seconds

    def stop(self) -> None:
        with self._cond:
            self._done = True
            self._cond.notify()


class Http:
    """Requests to one server: each bounded by one deadline, with an optional key.

    The URL is kept and shown without credentials; ``user:password@`` in it becomes a
    Basic Authorization header (an API key, where there is one, a Bearer header).
    """

    def __init__(
        self,
        url: str,
        api_key: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        api: str | None = None,
    ) -> None:
        self.url, self.scheme, self.host, self.port, self.prefix, user, password = parse_url(url)
        self.credentials_in_url = user is not None or password is not None
        self.api_key = keep_secret(api_key)
        self._auth = f"Bearer {api_key}" if api_key else None
        if self._auth is None and self.credentials_in_url:
            import base64
            from urllib.parse import unquote

            pair = f"{unquote(user or '')}:{unquote(password or '')}"
            keep_secret(unquote(password or "") or None)
            self._auth = "Basic " + keep_secret(base64.b64encode(pair.encode()).decode())
        self.timeout = timeout
        self.paths = Endpoints(api=api_path(api))
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
        if self._auth:
            headers["Authorization"] = self._auth
        return headers

    def _send(
        self, method: str, path: str, payload: dict | None, dog: Watchdog, stream: bool = False
    ) -> http.client.HTTPResponse:
        body = None if payload is None else json.dumps(payload).encode("utf-8")
        headers = self._headers(body, stream)
        for attempt in (0, 1):
            conn = self._connection(fresh=attempt == 1)
            reused = getattr(conn, "sock", None) is not None
            try:
                if conn.sock is None:
                    conn.connect()
                dog.sock = conn.sock
                conn.request(method, self.prefix + path, body=body, headers=headers)
                return conn.getresponse()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                # a kept-alive connection the server has since closed: one fresh try
                if attempt == 0 and reused and not dog.fired:
                    continue
                raise self._network_error(exc, path, dog) from None
            except (OSError, http.client.HTTPException) as exc:
                raise self._network_error(exc, path, dog) from None
        raise AssertionError("unreachable")

    def _network_error(
        self, exc: BaseException, path: str, dog: Watchdog | None = None
    ) -> RemoteError:
        self.close()
        where = f"the server at {self.url}"
        if (dog is not None and dog.fired) or isinstance(exc, TimeoutError | socket.timeout):
            return RemoteError(
                f"{where[0].upper()}{where[1:]} did not answer {path} within {self.timeout:g} s.",
                hint="it may be overloaded, stalled or still loading: check its log, or raise "
                "the alias's timeout in config.toml.",
            )
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
        said = server_text(str(exc) or type(exc).__name__, 200)
        return RemoteError(
            f"Lost the connection to {where} during {path}: {said}.",
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
                "/v1 or /completion; a server whose OpenAI API is elsewhere: api_path = "
                "'/api/v1' on its alias); it must be llama-server or OpenAI-compatible.",
            )
        if status >= 500:
            return RemoteError(head, hint="the server failed: its log says why.")
        return RemoteError(head, hint="the server refused the request; its log says why.")

    def _body(self, resp: http.client.HTTPResponse, path: str, dog: Watchdog) -> bytes:
        """A whole answer, at most MAX_BODY bytes, read before the deadline."""
        length = (resp.getheader("Content-Length") or "").strip()
        if length.isdigit() and int(length) > MAX_BODY:
            self.close()
            raise RemoteError(
                f"{self.url}{path} announced a {int(length):,}-byte answer; gptplay reads at "
                f"most {MAX_BODY:,} bytes.",
                hint="this is not a model server's answer: check --model.",
            )
        chunks: list[bytes] = []
        size = 0
        try:
            while chunk := resp.read1(READ_SIZE):
                size += len(chunk)
                if size > MAX_BODY:
                    self.close()
                    raise RemoteError(
                        f"{self.url}{path} sent more than {MAX_BODY:,} bytes in one answer.",
                        hint="this is not a model server's answer: check --model.",
                    )
                chunks.append(chunk)
        except (OSError, http.client.HTTPException) as exc:
            raise self._network_error(exc, path, dog) from None
        resp.close()  # read to its end: the kept-alive connection can take the next request
        if dog.fired:
            raise self._network_error(TimeoutError(), path, dog)
        return b"".join(chunks)

    def _exchange(self, method: str, path: str, payload: dict | None) -> tuple[int, bytes]:
        dog = Watchdog(self.timeout)
        try:
            resp = self._send(method, path, payload, dog)
            return resp.status, self._body(resp, path, dog)
        finally:
            dog.stop()

    def json(self, method: str, path: str, payload: dict | None = None) -> dict | list:
        """Send a request and return its JSON body; errors become RemoteError."""
        status, body = self._exchange(method, path, payload)
        if status >= 400:
            raise self.status_error(status, path, body)
        try:
            return loads(body)  # type: ignore[return-value]
        except (ValueError, UnicodeDecodeError) as exc:
            raise RemoteError(
                f"{self.url}{path} answered with something that is not JSON"
                + (f" ({exc})." if "not JSON" in str(exc) else "."),
                hint="is --model the URL of a model server (llama-server, vLLM, llama-cpp-python)?",
            ) from None

    def probe(self, path: str) -> dict | list | None:
        """GET a path that only some servers have: its JSON, or None for 404/405/non-JSON."""
        status, body = self._exchange("GET", path, None)
        if status in (401, 403):
            raise self.status_error(status, path, body)
        if status >= 400:
            return None
        try:
            return loads(body)  # type: ignore[return-value]
        except (ValueError, UnicodeDecodeError):
            return None

    def sse(self, path: str, payload: dict) -> Iterator[dict]:
        """POST and yield each server-sent event's JSON; ``DONE`` for ``[DONE]``, then stops.

        Each event must arrive within the timeout (the first one counted from the request).
        A connection lost or timed out mid-stream raises StreamCutError; an end of stream
        without ``[DONE]`` simply returns (the caller knows whether it saw the last event).
        """
        dog = Watchdog(self.timeout)
        try:
            resp = self._send("POST", path, payload, dog, stream=True)
            if resp.status >= 400:
                raise self.status_error(resp.status, path, self._body(resp, path, dog))
            yield from self._events(resp, path, dog)
        finally:
            dog.stop()

    def _events(self, resp: http.client.HTTPResponse, path: str, dog: Watchdog) -> Iterator[dict]:
        try:
            while True:
                line = resp.readline(MAX_LINE + 1)
                if dog.fired:
                    raise TimeoutError
                if not line:
                    return
                if len(line) > MAX_LINE:
                    raise RemoteError(
                        f"{self.url}{path} sent an event line over {MAX_LINE:,} bytes.",
                        hint="this is not a model server's stream: check --model.",
                    )
                line = line.strip()
                if not line.startswith(b"data:"):
                    continue  # comments (": ping"), event names, blank separators
                dog.renew()
                data = line[5:].strip()
                if data == b"[DONE]":
                    yield DONE
                    return
                try:
                    event = loads(data)
                except (ValueError, UnicodeDecodeError) as exc:
                    if "not JSON" not in str(exc):
                        continue  # a line that is not an event of ours (a proxy's note)
                    raise RemoteError(
                        f"{self.url}{path} sent an event with {exc} (strict JSON has no "
                        "NaN or Infinity).",
                        hint="the server answered something gptplay cannot use: check --model.",
                    ) from None
                if not isinstance(event, dict):
                    raise RemoteError(
                        f"{self.url}{path} sent an event that is not a JSON object: "
                        f"{server_text(data.decode('utf-8', 'replace'), 60)}",
                        hint="this is not a model server's stream: check --model.",
                    )
                if "error" in event:
                    raise RemoteError(
                        f"{self.url}{path} reported an error mid-stream: {_server_message(data)}",
                        hint="the server's log says why.",
                    )
                yield event
        except (OSError, http.client.HTTPException) as exc:
            raise StreamCutError(
                f"The stream from {self.url} was cut: "
                f"{self._network_error(exc, path, dog).message}",
                hint="what arrived is kept; check the server and run again.",
            ) from None
        finally:
            resp.close()
            self.close()  # the body may be half-read: this connection cannot be reused
