"""Shared helpers for the Python anchors: every script prints one JSON line on stdout."""
import importlib
import json
import sys


def emit(obj, code=0):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()
    sys.exit(code)


def load_lib(name):
    """multiprocessing or billiard; a missing library is reported, not raised."""
    if name not in ("multiprocessing", "billiard"):
        emit({"error": "unknown library %r" % name}, 2)
    try:
        return importlib.import_module(name)
    except ImportError:
        emit({"missing": "%s: not installed" % name})


def get_context(mp, method):
    if method not in mp.get_all_start_methods():
        emit({"missing": "%s: start method %s not available" % (mp.__name__, method)})
    return mp.get_context(method)


def lib_version(name):
    try:
        mod = importlib.import_module(name)
    except ImportError:
        return None
    return getattr(mod, "__version__", None) or "stdlib"
