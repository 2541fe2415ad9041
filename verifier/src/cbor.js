// A small CBOR decoder (RFC 8949) that keeps the distinctions the verifier's checks need:
// integers are JS numbers (BigInt beyond 2^53), floats are CborFloat (so 1.0 is not the
// integer 1, as in Python's `type(x) is int`), byte strings are Uint8Array, maps are Map
// (keys keep their type: 1 and "1" differ), unknown tags are CborTag. It accepts what
// cbor2 (the Python side) accepts for these types, including indefinite lengths, so both
// verifiers read the same bytes the same way; anything else throws CborError.

export class CborError extends Error {}

export class CborTag {
  constructor(tag, value) { this.tag = tag; this.value = value; }
}

export class CborFloat {
  constructor(value) { this.value = value; }
}

export const UNDEFINED = Symbol("cbor undefined");
const BREAK = Symbol("cbor break");
const MAX_DEPTH = 64;
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Decode one CBOR item that fills `bytes` exactly (trailing bytes throw). */
export function decodeCbor(bytes) {
  const reader = new Reader(bytes);
  const value = reader.item(0);
  if (value === BREAK) throw new CborError("unexpected break");
  if (reader.pos !== bytes.length) throw new CborError("trailing bytes after the CBOR item");
  return value;
}

class Reader {
  constructor(bytes) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = 0;
  }

  need(n) {
    if (this.pos + n > this.bytes.length) throw new CborError("truncated CBOR");
  }

  byte() { this.need(1); return this.bytes[this.pos++]; }

  // The argument of a head: a JS number when it is safe, else a BigInt; null for indefinite.
  argument(info) {
    if (info < 24) return info;
    const v = this.view;
    const at = this.pos;
    switch (info) {
      case 24: this.need(1); this.pos += 1; return v.getUint8(at);
      case 25: this.need(2); this.pos += 2; return v.getUint16(at);
      case 26: this.need(4); this.pos += 4; return v.getUint32(at);
      case 27: {
        this.need(8); this.pos += 8;
        const big = v.getBigUint64(at);
        return big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
      }
      case 31: return null;
      default: throw new CborError(`reserved additional information ${info}`);
    }
  }

  length(info) {
    const n = this.argument(info);
    if (typeof n === "bigint") throw new CborError("length too large");
    return n;
  }

  item(depth) {
    if (depth > MAX_DEPTH) throw new CborError("CBOR nested too deeply");
    const head = this.byte();
    const major = head >> 5;
    const info = head & 0x1f;
    switch (major) {
      case 0: return this.unsigned(info);
      case 1: return negate(this.unsigned(info));
      case 2: return this.string(info, 2);
      case 3: return this.string(info, 3);
      case 4: return this.array(info, depth);
      case 5: return this.map(info, depth);
      case 6: return this.tag(info, depth);
      default: return this.simple(info);
    }
  }

  unsigned(info) {
    const n = this.argument(info);
    if (n === null) throw new CborError("indefinite length on an integer");
    return n;
  }

  string(info, major) {
    const n = this.length(info);
    if (n !== null) {
      this.need(n);
      const chunk = this.bytes.subarray(this.pos, this.pos + n);
      this.pos += n;
      return major === 2 ? chunk.slice() : decodeText(chunk);
    }
    const chunks = [];
    for (;;) {
      const head = this.byte();
      if (head === 0xff) break;
      if (head >> 5 !== major || (head & 0x1f) === 31) throw new CborError("bad chunk in an indefinite string");
      const size = this.length(head & 0x1f);
      this.need(size);
      chunks.push(this.bytes.subarray(this.pos, this.pos + size));
      this.pos += size;
    }
    if (major === 3) return chunks.map(decodeText).join("");
    return concat(chunks);
  }

  array(info, depth) {
    const n = this.length(info);
    const out = [];
    if (n === null) {
      for (let v = this.item(depth + 1); v !== BREAK; v = this.item(depth + 1)) out.push(v);
      return out;
    }
    if (n > this.bytes.length - this.pos) throw new CborError("array longer than the input");
    for (let i = 0; i < n; i++) out.push(this.value(depth));
    return out;
  }

  map(info, depth) {
    const n = this.length(info);
    const out = new Map();
    for (let i = 0; n === null || i < n; i++) {
      const key = this.item(depth + 1);
      if (key === BREAK && n === null) break;
      if (key === BREAK) throw new CborError("unexpected break");
      out.set(mapKey(key), this.value(depth));
    }
    return out;
  }

  value(depth) {
    const v = this.item(depth + 1);
    if (v === BREAK) throw new CborError("unexpected break");
    return v;
  }

  tag(info, depth) {
    const tag = this.unsigned(info);
    const value = this.value(depth);
    // Bignums (tags 2 and 3) are integers on the Python side too.
    if ((tag === 2 || tag === 3) && value instanceof Uint8Array) {
      let big = 0n;
      for (const b of value) big = (big << 8n) | BigInt(b);
      return tag === 2 ? normalise(big) : normalise(-1n - big);
    }
    return new CborTag(tag, value);
  }

  simple(info) {
    const v = this.view;
    const at = this.pos;
    switch (info) {
      case 20: return false;
      case 21: return true;
      case 22: return null;
      case 23: return UNDEFINED;
      case 24: this.byte(); throw new CborError("unsupported simple value");
      case 25: this.need(2); this.pos += 2; return new CborFloat(half(v.getUint16(at)));
      case 26: this.need(4); this.pos += 4; return new CborFloat(v.getFloat32(at));
      case 27: this.need(8); this.pos += 8; return new CborFloat(v.getFloat64(at));
      case 31: return BREAK;
      default: throw new CborError(`unsupported simple value ${info}`);
    }
  }
}

function decodeText(chunk) {
  try {
    return utf8.decode(chunk);
  } catch {
    throw new CborError("text string is not valid UTF-8");
  }
}

// Map keys: integers, text and booleans as themselves; byte strings as a tagged string so
// they cannot collide with text keys. Other keys (arrays, maps) are refused: no format of
// ours uses them.
function mapKey(key) {
  if (typeof key === "number" || typeof key === "bigint" || typeof key === "string" || typeof key === "boolean") return key;
  if (key instanceof Uint8Array) return `bytes:${[...key].join(",")}`;
  throw new CborError("unsupported map key type");
}

function negate(n) {
  return typeof n === "bigint" ? normalise(-1n - n) : n + 1 > Number.MAX_SAFE_INTEGER ? normalise(-1n - BigInt(n)) : -1 - n;
}

function normalise(big) {
  const safe = BigInt(Number.MAX_SAFE_INTEGER);
  return big <= safe && big >= -safe ? Number(big) : big;
}

function half(bits) {
  const exp = (bits >> 10) & 0x1f;
  const frac = bits & 0x3ff;
  const sign = bits & 0x8000 ? -1 : 1;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** Concatenate byte arrays. */
export function concat(chunks) {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) { out.set(c, at); at += c.length; }
  return out;
}

/** The shortest CBOR head for major type `major` and argument `n` (a non-negative integer). */
export function head(major, n) {
  const m = major << 5;
  if (n < 24) return Uint8Array.of(m | n);
  if (n < 0x100) return Uint8Array.of(m | 24, n);
  if (n < 0x10000) return Uint8Array.of(m | 25, n >> 8, n & 0xff);
  if (n < 0x100000000) return Uint8Array.of(m | 26, n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
  throw new CborError("length too large");
}

/** A canonical CBOR byte string item. */
export function encodeBytes(bytes) {
  return concat([head(2, bytes.length), bytes]);
}

/** True if `value` is a CBOR integer (not a float, not a boolean). */
export function isInt(value) {
  return (typeof value === "number" && Number.isInteger(value)) || typeof value === "bigint";
}
