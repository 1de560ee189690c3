"""probe.py LIB -> {"ok": true, "version": ...} or {"missing": "LIB: not installed"};
probe.py --versions -> versions of python, multiprocessing's start methods and billiard."""
import platform
import sys

from _common import emit, lib_version


def main():
    arg = sys.argv[1] if len(sys.argv) > 1 else "--versions"
    if arg == "--versions":
        import multiprocessing
        emit({
            "python": platform.python_version(),
            "executable": sys.executable,
            "multiprocessing_start_methods": multiprocessing.get_all_start_methods(),
            "billiard": lib_version("billiard"),
        })
    version = lib_version(arg)
    if version is None:
        emit({"missing": "%s: not installed" % arg})
    emit({"ok": True, "version": version})


if __name__ == "__main__":
    main()
