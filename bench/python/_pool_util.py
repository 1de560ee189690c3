"""Helpers for the pool anchors."""
import json
import os
import signal
import sys
import threading


def report_and_exit(obj, pools):
    """Print the result line first, then close `pools` (terminate + join) within 5 s,
    SIGKILL whatever is left, and exit. billiard's terminate() can hang for good: on a
    queue lock a killed worker left held, or joining a worker that ignored SIGTERM."""
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()
    for pool in pools:
        closer = threading.Thread(target=lambda p=pool: (p.terminate(), p.join()), daemon=True)
        closer.start()
        closer.join(5)
        if closer.is_alive():
            sys.stderr.write("%s: Pool.terminate() hung; killing its workers\n" % os.path.basename(sys.argv[0]))
        for proc in list(getattr(pool, "_pool", [])):
            try:
                if proc.exitcode is None:
                    os.kill(proc.pid, signal.SIGKILL)
            except (OSError, ValueError, AttributeError):
                pass
    sys.stderr.flush()
    os._exit(0)
