"""Pipe ping-pong: the parent sends a payload, a child echoes it back; per round trip in us.

Usage: pipe_pingpong.py --lib multiprocessing|billiard --api obj|bytes
                        --count N --warmup W --payload 16
obj: send()/recv() of a bytes object (pickled); bytes: send_bytes()/recv_bytes().
The child is forked (steady-state latency does not depend on the start method).
Prints {"samples": [us, ...], "total_s": ...}.
"""
import argparse
import time

from _common import emit, get_context, load_lib
from _tasks import echo


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib", default="multiprocessing")
    ap.add_argument("--api", default="obj", choices=["obj", "bytes"])
    ap.add_argument("--count", type=int, default=5000)
    ap.add_argument("--warmup", type=int, default=500)
    ap.add_argument("--payload", type=int, default=16)
    args = ap.parse_args()
    mp = load_lib(args.lib)
    ctx = get_context(mp, "fork")
    a, b = ctx.Pipe()
    p = ctx.Process(target=echo, args=(b, args.api))
    p.start()
    b.close()
    payload = b"x" * args.payload
    clock = time.perf_counter_ns
    if args.api == "bytes":
        send, recv = a.send_bytes, a.recv_bytes
    else:
        send, recv = a.send, a.recv
    for _ in range(args.warmup):
        send(payload)
        recv()
    samples = [0.0] * args.count
    start = clock()
    for i in range(args.count):
        t0 = clock()
        send(payload)
        r = recv()
        samples[i] = (clock() - t0) / 1e3
    total = (clock() - start) / 1e9
    if r != payload:
        emit({"error": "echo mismatch"}, 1)
    send(b"" if args.api == "bytes" else None)
    p.join()
    emit({"samples": samples, "total_s": total, "count": args.count})


if __name__ == "__main__":
    main()
