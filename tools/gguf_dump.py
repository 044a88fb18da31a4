#!/usr/bin/env python3
"""Print a GGUF file's metadata (arrays abbreviated) and tensor table. Debugging aid."""
import struct, sys

TYPES = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
GGML = {0: "f32", 1: "f16", 2: "q4_0", 3: "q4_1", 6: "q5_0", 7: "q5_1", 8: "q8_0", 10: "q2_K", 11: "q3_K",
        12: "q4_K", 13: "q5_K", 14: "q6_K", 30: "bf16"}


def main(path):
    f = open(path, "rb")
    def rd(fmt):
        n = struct.calcsize(fmt)
        return struct.unpack("<" + fmt, f.read(n))[0]
    def rstr():
        return f.read(rd("Q")).decode("utf-8", "replace")
    def rval(t):
        if t == 8:
            return rstr()
        if t == 9:
            et, n = rd("I"), rd("Q")
            items = [rval(et) for _ in range(n)]
            return items if n <= 8 else f"[{n} items: {items[:4]}...]"
        return rd(TYPES[t])
    assert f.read(4) == b"GGUF"
    ver, nt, nkv = rd("I"), rd("Q"), rd("Q")
    print(f"version {ver}, {nt} tensors, {nkv} kv")
    for _ in range(nkv):
        k = rstr(); v = rval(rd("I"))
        s = repr(v)
        print(f"  {k} = {s[:150]}")
    for _ in range(nt):
        name = rstr(); nd = rd("I"); ne = [rd("Q") for _ in range(nd)]; t = rd("I"); off = rd("Q")
        print(f"  {name:40s} {GGML.get(t, t):6s} {ne} @{off}")


main(sys.argv[1])
