"""Targets the Python anchors' children run. They live in their own module, not in
__main__, so that every start method can unpickle them (billiard's spawn and
forkserver do not re-import the parent's __main__ script)."""


def noop():
    pass


def echo(conn, api):
    """Ping-pong: echo until None (obj) or an empty message (bytes)."""
    if api == "bytes":
        while True:
            m = conn.recv_bytes()
            if not m:
                break
            conn.send_bytes(m)
    else:
        while True:
            m = conn.recv()
            if m is None:
                break
            conn.send(m)
    conn.close()


def sink(conn, api):
    """Throughput: per batch receive the count n, then n messages; acknowledge the byte total."""
    while True:
        n = conn.recv()
        if n is None:
            break
        total = 0
        if api == "bytes":
            for _ in range(n):
                total += len(conn.recv_bytes())
        else:
            for _ in range(n):
                total += len(conn.recv()["data"])
        conn.send(total)
    conn.close()
