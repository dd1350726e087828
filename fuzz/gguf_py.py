"""A small GGUF (v2/v3) reader and writer for making fuzz seeds.

Only what seeds need: metadata of every type, tensor infos, raw tensor
bytes. Written for fuzz/seeds.py; not used by the library or its tests.
"""
import struct

# GGUF metadata value types
U8, I8, U16, I16, U32, I32, F32, BOOL, STRING, ARRAY, U64, I64, F64 = range(13)
_SCALAR = {U8: "<B", I8: "<b", U16: "<H", I16: "<h", U32: "<I", I32: "<i", F32: "<f",
           BOOL: "<?", U64: "<Q", I64: "<q", F64: "<d"}


class Reader:
    def __init__(self, data):
        self.d, self.p = data, 0

    def take(self, fmt):
        v = struct.unpack_from(fmt, self.d, self.p)[0]
        self.p += struct.calcsize(fmt)
        return v

    def string(self):
        n = self.take("<Q")
        s = self.d[self.p:self.p + n]
        self.p += n
        return s.decode("utf-8", "replace")

    def value(self, t):
        if t == STRING:
            return self.string()
        if t == ARRAY:
            et, n = self.take("<I"), self.take("<Q")
            return (et, [self.value(et) for _ in range(n)])
        return self.take(_SCALAR[t])


def read(path):
    """Returns (kv: list of (key, type, value)), tensors: list of (name, ne, ggml_type, bytes))."""
    data = open(path, "rb").read()
    r = Reader(data)
    assert data[:4] == b"GGUF"
    r.p = 4
    r.take("<I")
    nt, nkv = r.take("<Q"), r.take("<Q")
    kv = []
    for _ in range(nkv):
        k = r.string()
        t = r.take("<I")
        kv.append((k, t, r.value(t)))
    infos = []
    for _ in range(nt):
        name = r.string()
        nd = r.take("<I")
        ne = [r.take("<Q") for _ in range(nd)]
        gt, off = r.take("<I"), r.take("<Q")
        infos.append((name, ne, gt, off))
    align = dict((k, v) for k, _, v in kv).get("general.alignment", 32)
    start = (r.p + align - 1) // align * align
    tensors = []
    for i, (name, ne, gt, off) in enumerate(infos):
        end = infos[i + 1][3] if i + 1 < len(infos) else len(data) - start
        tensors.append((name, ne, gt, data[start + off:start + end]))
    return kv, tensors


def _value(t, v):
    if t == STRING:
        b = v.encode()
        return struct.pack("<Q", len(b)) + b
    if t == ARRAY:
        et, items = v
        return struct.pack("<IQ", et, len(items)) + b"".join(_value(et, x) for x in items)
    return struct.pack(_SCALAR[t], v)


def write(kv, tensors, version=3, align=32):
    """kv: list of (key, type, value); tensors: list of (name, ne, ggml_type, bytes)."""
    out = b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(kv))
    for k, t, v in kv:
        out += _value(STRING, k) + struct.pack("<I", t) + _value(t, v)
    off = 0
    offsets = []
    for name, ne, gt, b in tensors:
        offsets.append(off)
        off = (off + len(b) + align - 1) // align * align
    for (name, ne, gt, b), o in zip(tensors, offsets):
        out += _value(STRING, name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", n) for n in ne)
        out += struct.pack("<IQ", gt, o)
    out += b"\0" * ((-len(out)) % align)
    for (name, ne, gt, b), o in zip(tensors, offsets):
        out += b + b"\0" * ((-len(b)) % align)
    return out
