#!/usr/bin/env python3
# Writes a cachewatch access state file (docs/purge.md, "The state file") for tests:
#   access_state.py OUT [--version N] [--corrupt] [--truncate] [--count N] PATH=AGO[,AGO...]...
# Each PATH gets a record of its (st_dev, ino): accesses AGO seconds ago, newest first
# (the first is the last access; at most 4 are kept as recent accesses).
# Reads one back: access_state.py --dump FILE (one "dev ino last_ns count nrecent" line per record).
import os, struct, sys, time, zlib

HDR = struct.Struct("=8sIIQII")
REC = struct.Struct("=QQQII4Q")

def encode(recs, version=1, count=None):
    body = b"".join(REC.pack(*r) for r in recs)
    n = len(recs) if count is None else count
    h = HDR.pack(b"CWACCESS", version, REC.size, n, 0, 0)
    crc = zlib.crc32(h + body) & 0xffffffff
    return HDR.pack(b"CWACCESS", version, REC.size, n, crc, 0) + body

def main(argv):
    if argv[0] == "--dump":
        data = open(argv[1], "rb").read()
        _, _, _, n, _, _ = HDR.unpack_from(data)
        for i in range(n):
            r = REC.unpack_from(data, HDR.size + i * REC.size)
            print(r[0], r[1], r[2], r[3], r[4])
        return 0
    out, rest = argv[0], argv[1:]
    version, corrupt, truncate, count, recs = 1, False, False, None, []
    now = time.time_ns()
    it = iter(rest)
    for a in it:
        if a == "--version":
            version = int(next(it))
        elif a == "--corrupt":
            corrupt = True
        elif a == "--truncate":
            truncate = True
        elif a == "--count":
            count = int(next(it))
        else:
            path, agos = a.rsplit("=", 1)
            st = os.stat(path)
            ts = [now - int(float(x) * 1e9) for x in agos.split(",")]
            recent = (ts[:4] + [0, 0, 0, 0])[:4]
            recs.append((st.st_dev, st.st_ino, ts[0], len(ts), min(len(ts), 4), *recent))
    data = bytearray(encode(recs, version, count))
    if corrupt:
        data[-1] ^= 0x5a
    if truncate:
        data = data[:-7]
    with open(out, "wb") as f:
        f.write(data)
    return 0

sys.exit(main(sys.argv[1:]))
