"""Many ftplib clients at once, each uploading and downloading its own file.

Run by tests/load.rs as `python3 hundred_clients.py PORT COUNT SIZE ROOT`.
Every client connects and logs in; when all are connected it prints
`connected COUNT` and waits for a line on standard input (the test checks
the server meanwhile). Then all transfer at once, and each checks that
what it downloads, and what the server stored under ROOT, is exactly what
it uploaded. Exits non-zero with the reasons if any client failed.
"""

import ftplib
import io
import os
import sys
import threading

port, count, size, root = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
connected = threading.Barrier(count + 1)
go = threading.Event()
errors = []


def client(number):
    name = f"client-{number:03}.bin"
    try:
        ftp = ftplib.FTP()
        ftp.connect("127.0.0.1", port, timeout=60)
        ftp.login("alice", "secret")
        data = os.urandom(size)
        connected.wait(timeout=60)
        go.wait(timeout=60)
        ftp.storbinary(f"STOR {name}", io.BytesIO(data), blocksize=32 * 1024)
        got = io.BytesIO()
        ftp.retrbinary(f"RETR {name}", got.write, blocksize=32 * 1024)
        if got.getvalue() != data:
            raise AssertionError("the downloaded bytes differ")
        with open(os.path.join(root, name), "rb") as stored:
            if stored.read() != data:
                raise AssertionError("the stored bytes differ")
        ftp.quit()
    except Exception as error:  # report every failure, not just the first
        errors.append(f"{name}: {error!r}")
        connected.abort()


threads = [threading.Thread(target=client, args=(n,)) for n in range(count)]
for thread in threads:
    thread.start()
try:
    connected.wait(timeout=60)
    print(f"connected {count}", flush=True)
    sys.stdin.readline()
finally:
    go.set()
for thread in threads:
    thread.join()
if errors:
    print("\n".join(errors), file=sys.stderr)
    sys.exit(1)
print(f"verified {count}", flush=True)
