"""Manager anchors. Prints one JSON line: {"samples": [...], ...}.

Usage: managers_bench.py --lib multiprocessing|billiard --what WHAT [--count N] [--reps R]
  start    ms per Manager() start (shutdown not timed)
  dict     ops/s of d['k'] = i; d['k'] from one process (one sample per `count` pairs)
  hammer   ops/s of 4 processes doing d[key] = i; d[key] on one dict (window from first start to last end)
  connect  ms per Client(address, authkey) to a Listener whose thread accepts (handshake both ways)
  create   ms per m.list() (a proxy: creation + its own connections)
Children are forked (Python's default on Linux before 3.14).
"""
import argparse
import threading
import time

from _common import emit, get_context, load_lib


def hammer_worker(d, n, key, ev, q):
    ev.wait()
    t0 = time.monotonic()
    for i in range(n):
        d[key] = i
        d[key]
    q.put((t0, time.monotonic()))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib", default="multiprocessing")
    ap.add_argument("--what", required=True)
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    mp = load_lib(args.lib)
    ctx = get_context(mp, "fork")
    samples = []
    if args.what == "start":
        for _ in range(args.reps):
            t0 = time.perf_counter()
            m = ctx.Manager()
            samples.append((time.perf_counter() - t0) * 1e3)
            m.shutdown()
    elif args.what == "dict":
        m = ctx.Manager()
        d = m.dict()
        for i in range(500):
            d["k"] = i
            d["k"]
        for _ in range(args.reps):
            t0 = time.perf_counter()
            for i in range(args.count):
                d["k"] = i
                d["k"]
            samples.append(2 * args.count / (time.perf_counter() - t0))
        m.shutdown()
    elif args.what == "hammer":
        m = ctx.Manager()
        d = m.dict()
        for _ in range(args.reps):
            ev = m.Event()
            q = ctx.Queue()
            procs = [ctx.Process(target=hammer_worker, args=(d, args.count, "p%d" % i, ev, q)) for i in range(4)]
            for p in procs:
                p.start()
            time.sleep(0.2)  # let every worker reach ev.wait()
            ev.set()
            spans = [q.get() for _ in procs]
            for p in procs:
                p.join()
            window = max(e for _, e in spans) - min(s for s, _ in spans)
            samples.append(4 * 2 * args.count / window)
        m.shutdown()
    elif args.what == "connect":
        conn_mod = __import__(args.lib + ".connection", fromlist=["Listener", "Client"])
        key = b"k" * 32
        listener = conn_mod.Listener(("127.0.0.1", 0), authkey=key)
        total = args.count * args.reps + 20

        def serve():
            for _ in range(total):
                c = listener.accept()
                c.close()

        t = threading.Thread(target=serve, daemon=True)
        t.start()
        for _ in range(20):
            conn_mod.Client(listener.address, authkey=key).close()
        for _ in range(args.count * args.reps):
            t0 = time.perf_counter()
            c = conn_mod.Client(listener.address, authkey=key)
            samples.append((time.perf_counter() - t0) * 1e3)
            c.close()
        t.join()
        listener.close()
    elif args.what == "create":
        m = ctx.Manager()
        for _ in range(20):
            m.list()
        for _ in range(args.count * args.reps):
            t0 = time.perf_counter()
            lst = m.list()
            samples.append((time.perf_counter() - t0) * 1e3)
            del lst
        m.shutdown()
    else:
        emit({"error": "unknown --what %r" % args.what}, 2)
    emit({"samples": samples})


if __name__ == "__main__":
    main()
