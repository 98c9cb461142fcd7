#!/usr/bin/env python3
"""Regenerates cache/testdata/s2_corpus/: seed inputs for the S2 decoder fuzz target (cache/s2_fuzz.cc).

Run from the repository root: python3 cache/testdata/make_s2_corpus.py
Inputs: the `resp` streams of the seed's example cache.json (cache/testdata/nats_cache_seed.json), small
hand-made S2 blocks and streams (literals, copies, S2 repeat offsets, skippable chunks) and a few
malformed ones. The CRC-32C here is only for building test data.
"""
import base64
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "s2_corpus")


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def masked(data):
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def chunk(kind, body):
    return bytes([kind]) + struct.pack("<I", len(body))[:3] + body


IDENT = chunk(0xFF, b"S2sTwO")


def compressed(block, decoded):
    return chunk(0x00, struct.pack("<I", masked(decoded)) + block)


def uncompressed(data):
    return chunk(0x01, struct.pack("<I", masked(data)) + data)


def main():
    os.makedirs(OUT, exist_ok=True)
    files = {}
    with open(os.path.join(HERE, "nats_cache_seed.json")) as f:
        for i, entry in enumerate(json.load(f).values()):
            files["seed_resp_%d" % i] = base64.b64decode(entry["resp"])
    repeat_block = b"\x10\x0cabcd\x01\x04\x11\x00"
    files["repeat_stream"] = IDENT + compressed(repeat_block, b"abcd" * 4)
    files["repeat_block"] = repeat_block
    files["repeat_long_block"] = b"\x89\x02\x00z\x0b\x01\x00\x00\x00\x19\x00\x01\x00"
    files["uncompressed_stream"] = IDENT + uncompressed(b"hello, OCSP")
    files["snappy_stream_padding"] = (chunk(0xFF, b"sNaPpY") + chunk(0xFE, b"\0" * 5) +
                                      uncompressed(b"x" * 100) + chunk(0x99, b"s2idx"))
    files["bad_crc"] = IDENT + chunk(0x01, b"\0\0\0\0abc")
    files["repeat_first"] = b"\x08\x0cabcd\x01\x00"
    files["reserved_chunk"] = IDENT + chunk(0x02, b"x")
    for name, data in files.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
