#!/usr/bin/env python3
"""An independent reference for docs/index.md, written from the document
alone (not from verifier/index.cc): prints the known-answer vectors that
tests/verifier/index_test.cc checks. Run: python3 tests/verifier/index_reference.py"""
import hashlib
import struct

LABEL = b"prov index subject v1"


def subject_key(kind, ids):
    b = LABEL + b"\x00" + struct.pack(">I", len(kind.encode())) + kind.encode()
    for i in ids:
        b += struct.pack(">I", len(i.encode())) + i.encode()
    return hashlib.sha256(b).digest()


def history_hash(history):
    b = b"\x02" + struct.pack(">Q", len(history))
    for i in history:
        b += struct.pack(">Q", i)
    return hashlib.sha256(b).digest()


def leaf_hash(key, history):
    return hashlib.sha256(b"\x00" + key + history_hash(history)).digest()


def bit(key, d):
    return (key[d // 8] >> (7 - d % 8)) & 1


EMPTY = bytes(32)


def root(leaves, depth=0):
    """leaves: list of (key, leaf_hash) under this node."""
    if not leaves:
        return EMPTY
    if len(leaves) == 1:
        return leaves[0][1]
    left = [l for l in leaves if bit(l[0], depth) == 0]
    right = [l for l in leaves if bit(l[0], depth) == 1]
    return hashlib.sha256(b"\x01" + root(left, depth + 1) + root(right, depth + 1)).digest()


def prove(leaves, key, depth=0):
    """Siblings from the root down (None: empty), and the leaf the path ends at."""
    if not leaves:
        return [], None
    if len(leaves) == 1:
        return [], leaves[0]
    b = bit(key, depth)
    same = [l for l in leaves if bit(l[0], depth) == b]
    other = [l for l in leaves if bit(l[0], depth) != b]
    sibs, end = prove(same, key, depth + 1)
    return [root(other, depth + 1) if other else None] + sibs, end


subjects = [
    (("device", ["acme", "SN-1"]), [4, 9]),
    (("org", ["acme"]), [1, 2, 3]),
    (("model", ["acme", "cam-1"]), [5]),
    (("key", ["00" * 32]), [2]),
    (("mac", ["ACCC8E"]), [7]),
]
print("key device acme/SN-1:", subject_key("device", ["acme", "SN-1"]).hex())
k = subject_key("device", ["acme", "SN-1"])
print("leaf device acme/SN-1 [4, 9]:", leaf_hash(k, [4, 9]).hex())
print("leaf device acme/SN-1 []:", leaf_hash(k, []).hex())
print("history hash [4, 9]:", history_hash([4, 9]).hex())
leaves = [(subject_key(*s), leaf_hash(subject_key(*s), h)) for s, h in subjects]
for n in range(len(leaves) + 1):
    print("root of the first %d subjects:" % n, root(leaves[:n]).hex())
sibs, end = prove(leaves, k)
print("proof of device acme/SN-1:", [s.hex() if s else "" for s in sibs])
absent = subject_key("device", ["acme", "SN-2"])
sibs, end = prove(leaves, absent)
print("proof of absent device acme/SN-2:", [s.hex() if s else "" for s in sibs],
      "ends at", (end[0].hex(), history_hash([4, 9]).hex()) if end else "empty")
