"""One-way Pipe throughput of SIZE-byte messages to a child, in MB/s (1 MB = 1e6 bytes).

Usage: pipe_throughput.py --lib multiprocessing|billiard --api bytes|obj
                          --size 1048576 --batch 32 --batches 5 --warmup 1
Each sample is one batch: send the count, send BATCH messages, wait for the
child's byte-count acknowledgement. bytes: send_bytes/recv_bytes;
obj: send({"data": b})/recv(). Prints {"samples": [MB/s, ...]}.
"""
import argparse
import os
import time

from _common import emit, get_context, load_lib
from _tasks import sink


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib", default="multiprocessing")
    ap.add_argument("--api", default="bytes", choices=["obj", "bytes"])
    ap.add_argument("--size", type=int, default=1 << 20)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--batches", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    args = ap.parse_args()
    mp = load_lib(args.lib)
    ctx = get_context(mp, "fork")
    a, b = ctx.Pipe()
    p = ctx.Process(target=sink, args=(b, args.api))
    p.start()
    b.close()
    buf = os.urandom(args.size)

    def batch():
        t0 = time.perf_counter_ns()
        a.send(args.batch)
        if args.api == "bytes":
            for _ in range(args.batch):
                a.send_bytes(buf)
        else:
            for _ in range(args.batch):
                a.send({"data": buf})
        got = a.recv()
        dt = (time.perf_counter_ns() - t0) / 1e9
        if got != args.batch * args.size:
            emit({"error": "child received %s bytes" % got}, 1)
        return args.batch * args.size / 1e6 / dt

    for _ in range(args.warmup):
        batch()
    samples = [batch() for _ in range(args.batches)]
    a.send(None)
    p.join()
    emit({"samples": samples})


if __name__ == "__main__":
    main()
