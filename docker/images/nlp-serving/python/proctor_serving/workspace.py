"""
Reading an upload as the seed lays it out: service.py (defining `Service`), local_guniconf.py
(gunicorn-style settings, of which only `workers` means something here) and model/.
"""
import importlib.util
import os
import runpy
import sys

MAX_WORKERS = 64


class WorkspaceError(Exception):
    """The upload cannot be served; the message says what to fix."""


def load_service(workspace: str):
    path = os.path.join(workspace, "service.py")
    if not os.path.isfile(path):
        raise WorkspaceError(f"{path} not found: the upload must have service.py at its top level")
    # service.py may import its sibling modules, as it would when run from its own directory.
    sys.path.insert(0, workspace)
    spec = importlib.util.spec_from_file_location("service", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["service"] = module
    spec.loader.exec_module(module)
    service_class = getattr(module, "Service", None)
    if not isinstance(service_class, type):
        raise WorkspaceError("service.py defines no class named Service (subclass NLPModelService)")
    for method in ("global_init", "infer"):
        if not callable(getattr(service_class, method, None)):
            raise WorkspaceError(f"Service in service.py has no method {method}")
    for name in FLASK_HOOKS:
        if _overrides(service_class, name):
            raise WorkspaceError(
                f"Service in service.py overrides {name}, which flageval-serving runs inside its Flask app "
                f"({FLASK_HOOKS[name]}); Proctor's server decodes the request and writes the response itself "
                "and calls infer: remove the override"
            )
    try:
        return service_class()
    except TypeError as error:
        # An abstract method left unimplemented, as flageval-serving's ModelService refuses it too.
        raise WorkspaceError(f"Service in service.py cannot be created: {error}")


# What each of the package's Flask-side hooks does there, for the message refusing an override.
FLASK_HOOKS = {
    "do_infer": "the view answering POST /func",
    "parse_request": "it reads Flask's request",
    "write_response": "it returns a Flask response",
    "endpoint": "the route the view is served at; here it is always /func",
}


def _overrides(service_class, name: str) -> bool:
    """Whether the class (below the package's own classes) defines `name`."""
    for klass in service_class.__mro__:
        if klass.__module__.startswith("flageval.serving."):
            return False
        if name in vars(klass):
            return True
    return False


def read_workers(workspace: str, log) -> int:
    """The size of the inference pool: `workers` from local_guniconf.py, 1 when absent or unusable."""
    path = os.path.join(workspace, "local_guniconf.py")
    if not os.path.isfile(path):
        return 1
    try:
        settings = runpy.run_path(path)
    except Exception as error:  # a broken config file should not stop the model from serving
        log(f"local_guniconf.py could not be read ({type(error).__name__}: {error}); using 1 worker")
        return 1
    workers = settings.get("workers", 1)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        log(f"local_guniconf.py: workers must be a positive integer, got {workers!r}; using 1 worker")
        return 1
    if workers > MAX_WORKERS:
        log(f"local_guniconf.py: workers = {workers} is more than {MAX_WORKERS}; using {MAX_WORKERS}")
        return MAX_WORKERS
    return workers
