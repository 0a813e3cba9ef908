"""Python's ftplib against the lesson's server: every byte comes back.

Run by tests/interop.rs as `python3 ftplib_roundtrip.py PORT`; prints one
line per check and exits non-zero (with the reason) on the first failure.
Logs in as alice:secret, who may write.
"""

import ftplib
import io
import os
import sys

port = int(sys.argv[1])
# ANCHOR: ftplib
ftp = ftplib.FTP()
ftp.connect("127.0.0.1", port, timeout=20)
ftp.login("alice", "secret")


def put(name, data):
    ftp.storbinary(f"STOR {name}", io.BytesIO(data), blocksize=65536)


def get(name, rest=None):
    out = io.BytesIO()
    ftp.retrbinary(f"RETR {name}", out.write, rest=rest)
    return out.getvalue()
# ANCHOR_END: ftplib


# Empty, one byte, several MiB (not a multiple of any chunk size).
for name, data in [
    ("empty.bin", b""),
    ("one.bin", b"\x00"),
    ("several.bin", os.urandom(5 * 1024 * 1024 + 13)),
]:
    put(name, data)
    assert get(name) == data, f"{name}: downloaded bytes differ"
    assert ftp.size(name) == len(data), f"{name}: SIZE is wrong"
    print(f"ok {name} ({len(data)} bytes) up and down")

# A resumed download (REST) is the rest of the file, byte for byte.
whole = get("several.bin")
assert get("several.bin", rest=1_000_003) == whole[1_000_003:], "REST download"
print("ok resumed download")

# Listings: MLSD facts, NLST names, LIST lines.
facts = dict(ftp.mlsd())
assert facts["several.bin"]["type"] == "file", facts
assert int(facts["several.bin"]["size"]) == len(whole), facts
assert sorted(ftp.nlst()) == ["empty.bin", "one.bin", "several.bin"], ftp.nlst()
lines = []
ftp.retrlines("LIST", lines.append)
assert len(lines) == 3 and all(line.startswith("-rw") for line in lines), lines
print("ok listings")

# Directories, renames, deletes, MDTM.
ftp.mkd("dir")
ftp.cwd("dir")
assert ftp.pwd() == "/dir", ftp.pwd()
ftp.cwd("..")
ftp.rename("one.bin", "dir/moved.bin")
assert get("dir/moved.bin") == b"\x00"
assert ftp.voidcmd("MDTM dir/moved.bin").startswith("213 2")
ftp.delete("dir/moved.bin")
ftp.rmd("dir")
print("ok directories, rename, delete")

# An upload aborted with ABOR (sent as urgent data, as ftplib does) leaves
# nothing behind, and the session goes on.
ftp.voidcmd("TYPE I")
conn = ftp.transfercmd("STOR aborted.bin")
conn.sendall(b"a" * 100_000)
reply = ftp.abort()
assert reply.startswith("426"), reply
assert ftp.getresp().startswith("226")  # RFC 959: 426 for the transfer, 226 for ABOR
conn.close()
assert "aborted.bin" not in ftp.nlst(), ftp.nlst()
print("ok aborted upload left nothing")

ftp.quit()
print("all ok")
