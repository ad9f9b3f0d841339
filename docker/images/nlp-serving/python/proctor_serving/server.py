"""
Serves a user's service.py over HTTP, the way Proctor's platform talks to it:

  POST /func    an NLPEvalRequest as JSON -> the NLPEvalResponse as JSON (protocol.py)
  GET  /health  200 once Service.global_init has returned, 503 before

The port is bound before the user's code is loaded, so a port clash fails at once and the platform
can ask /health while a large model loads. `workers` from local_guniconf.py bounds how many infer
calls run at once (one Service instance is shared, as the model is loaded once). Every request is
summarised on stdout (a line per interval, not per request: a run sends one request per sample)
and every error, with its traceback, goes to stderr: they become the run's logs.
Environment: PORT (default 5000), BIND (default 127.0.0.1), WORKSPACE (default /workspace).
"""
import json
import os
import signal
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from flageval.serving.service import NLPModelService
from flageval.serving.service.nlp import WIRE_FIELDS, NLPEvalRequest
from proctor_serving.protocol import BadRequest, BadResponse, decode_request, encode_response
from proctor_serving.workspace import WorkspaceError, load_service, read_workers

MAX_BODY_BYTES = 16 * 1024 * 1024
# The one server of this process, so a stop signal can report the last requests counted.
CURRENT_STATE = None


def log(line: str) -> None:
    sys.stdout.write(f"[serving] {line}\n")
    sys.stdout.flush()


def log_error(line: str) -> None:
    sys.stderr.write(f"[serving] {line}\n")
    sys.stderr.flush()


class ServingState:
    def __init__(self, workers: int):
        self.workers = workers
        self.service = None
        self.ready = threading.Event()
        self.slots = threading.BoundedSemaphore(workers)
        self.traffic = Traffic()


class Traffic:
    """Counts answered requests and reports them at most once per interval."""

    INTERVAL_SECONDS = 30.0

    def __init__(self):
        self.lock = threading.Lock()
        self.count = 0
        self.total_ms = 0.0
        self.since = time.monotonic()

    def answered(self, elapsed_ms: float):
        with self.lock:
            self.count += 1
            self.total_ms += elapsed_ms
            if time.monotonic() - self.since < self.INTERVAL_SECONDS:
                return
            self.flush_locked()

    def flush(self):
        with self.lock:
            self.flush_locked()

    def flush_locked(self):
        if self.count:
            seconds = time.monotonic() - self.since
            log(f"answered {self.count} /func request(s) in {seconds:.0f}s, {self.total_ms / self.count:.1f}ms on average")
        self.count, self.total_ms, self.since = 0, 0.0, time.monotonic()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "proctor-nlp-serving/1"
    # Seconds a connection may sit silent mid-request (or idle between requests) before it is dropped.
    timeout = 120

    @property
    def state(self) -> ServingState:
        return self.server.state

    def do_GET(self):
        started = time.monotonic()
        if urlsplit(self.path).path != "/health":
            return self.reply_error(404, f"no such path: {self.path}", started)
        if not self.state.ready.is_set():
            return self.reply(503, b'{"status":"starting"}', started)
        self.reply(200, b'{"status":"ok"}', started)

    def do_POST(self):
        started = time.monotonic()
        length = self.headers.get("Content-Length")
        refusal = None
        if urlsplit(self.path).path != "/func":
            refusal = (404, f"no such path: {self.path}")
        elif length is None or not length.isdigit():
            refusal = (400, "a JSON body with a Content-Length is required")
        elif int(length) > MAX_BODY_BYTES:
            refusal = (413, f"the body is larger than {MAX_BODY_BYTES} bytes")
        if refusal:
            # The body was not read, so the connection cannot carry another request.
            self.close_connection = True
            return self.reply_error(*refusal, started)
        body = self.rfile.read(int(length))
        try:
            fields = decode_request(body)
        except BadRequest as error:
            return self.reply_error(400, str(error), started)
        if not self.state.ready.is_set():
            return self.reply_error(503, "the model is still loading (global_init has not returned)", started)
        service = self.state.service
        with self.state.slots:
            try:
                request = make_request(service, fields)
                response = service.infer(request)
                payload = encode_response(service, response)
            except BadResponse as error:
                log_error(f"infer answered in a shape that cannot be sent: {error}")
                return self.reply_error(500, str(error), started)
            except Exception as error:
                log_error("infer raised:\n" + traceback.format_exc().rstrip())
                # As flageval-serving answers: the exception's first argument is the message.
                return self.reply_error(500, error.args[0] if error.args else type(error).__name__, started)
        self.reply(200, payload, started)

    def reply_error(self, status: int, message, started: float):
        """Errors as flageval-serving writes them: {"code": status, "message": ...}."""
        try:
            payload = json.dumps({"code": status, "message": message}, ensure_ascii=False)
        except (TypeError, ValueError):
            payload = json.dumps({"code": status, "message": repr(message)}, ensure_ascii=False)
        self.reply(status, payload.encode("utf-8"), started)

    def reply(self, status: int, payload: bytes, started: float):
        self.send_response_only(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(payload)
        elapsed_ms = (time.monotonic() - started) * 1000
        # Health polls and answered samples would drown the lines that matter: those are counted,
        # failures are logged one by one.
        if status < 400 and self.path == "/func":
            self.state.traffic.answered(elapsed_ms)
        elif self.path != "/health":
            log(f'{self.client_address[0]} "{self.command} {self.path}" {status} {len(payload)}B {elapsed_ms:.1f}ms')

    def log_message(self, format, *args):
        # Only http.server's own complaints (malformed request lines) arrive here.
        log_error(f"{self.client_address[0]} {format % args}")


def make_request(service, fields: dict):
    """The NLPEvalRequest infer is given: by the service's parse_request, as the package makes it."""
    if isinstance(service, NLPModelService):
        return service.parse_request(fields)
    # A Service that does not subclass NLPModelService gets the same request.
    return NLPEvalRequest(**{attr: fields[wire] for wire, attr in WIRE_FIELDS.items() if wire in fields})


def stop(signum, _frame):
    log(f"received signal {signum}; stopping")
    if CURRENT_STATE is not None:
        CURRENT_STATE.traffic.flush()
    os._exit(0)


def main() -> None:
    # As PID 1 in a container, a signal without a handler is ignored: `docker stop` would hang.
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    workspace = os.environ.get("WORKSPACE", "/workspace")
    port = int(os.environ.get("PORT", "5000"))
    bind = os.environ.get("BIND", "127.0.0.1")

    global CURRENT_STATE
    state = ServingState(read_workers(workspace, log_error))
    CURRENT_STATE = state
    server = ThreadingHTTPServer((bind, port), Handler)
    server.daemon_threads = True
    server.state = state
    threading.Thread(target=server.serve_forever, name="http", daemon=True).start()
    log(f"listening on http://{bind}:{port} with {state.workers} inference worker(s)")

    try:
        service = load_service(workspace)
        model_path = os.path.join(workspace, "model")
        log(f"global_init({model_path!r}) started")
        started = time.monotonic()
        service.global_init(model_path)
    except WorkspaceError as error:
        log_error(str(error))
        os._exit(2)
    except BaseException:
        log_error("loading the service failed:\n" + traceback.format_exc().rstrip())
        os._exit(1)
    state.service = service
    state.ready.set()
    log(f"global_init finished in {time.monotonic() - started:.1f}s; ready")
    threading.Event().wait()
