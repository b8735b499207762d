#!/usr/bin/env python3
# mkimage.py PATH SIZE_MB DATA_MB: a sparse image of SIZE_MB MiB holding
# DATA_MB pieces of 1 MiB spread evenly over it, holes between them.
# Piece i is "%08d" % i repeated, so no two pieces are alike and a piece
# sent to the wrong place, or twice, changes the image's digest.  Used
# by the copy-storage tests and make bench's copy case.
import os
import sys

path, total, data = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
if data < 1 or data > total:
    sys.exit("mkimage.py: DATA_MB must be 1..SIZE_MB")
step = total // data
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.ftruncate(fd, total << 20)
for i in range(data):
    os.pwrite(fd, (b"%08d" % i) * 131072, (i * step) << 20)
os.close(fd)
