// The QR transport, as certs/encoding.py: "JPRC1:" + base45(zlib(COSE_Sign1)). zlib via
// the browser's DecompressionStream ("deflate" is the RFC 1950 zlib format), bounded to
// 8 KiB, with the header pinned and non-zero padding bits refused, so a changed character
// cannot hide anywhere the signature does not cover.

import { b45decode, isBase45 } from "./base45.js";
import { concat } from "./cbor.js";
import { MAX_COSE_BYTES, sameBytes } from "./cose.js";
import { VerificationError } from "./errors.js";

export const PREFIX = "JPRC1:";

/** Undo the QR transport; throws VerificationError (qr.prefix / qr.base45 / qr.zlib). */
export async function qrStringToCose(text) {
  if (typeof text !== "string" || !text.startsWith(PREFIX)) {
    throw new VerificationError("qr.prefix", `QR string must start with ${PREFIX}`, "qr");
  }
  const body = text.slice(PREFIX.length);
  if (!body || !isBase45(body) || body.length > MAX_COSE_BYTES * 2) {
    throw new VerificationError("qr.base45", "QR string has characters outside base45", "qr");
  }
  let compressed;
  try {
    compressed = b45decode(body);
  } catch {
    throw new VerificationError("qr.base45", "QR string is not valid base45", "qr");
  }
  return decompress(compressed);
}

async function decompress(compressed) {
  if (compressed.length < 2 || compressed[0] !== 0x78 || compressed[1] !== 0xda) {
    throw new VerificationError("qr.zlib", "payload is not zlib data with the expected header", "qr");
  }
  const cose = await inflate(compressed, MAX_COSE_BYTES);
  if (cose === null) throw new VerificationError("qr.zlib", "zlib data is invalid, truncated, oversized or has trailing bytes", "qr");
  if (await hasPaddingBits(compressed, cose)) {
    throw new VerificationError("qr.zlib", "zlib data has non-zero padding bits", "qr");
  }
  return cose;
}

/** Inflate zlib data completely; null if it is invalid, truncated, has trailing bytes or exceeds `max`. */
export async function inflate(compressed, max) {
  const stream = new Blob([compressed]).stream().pipeThrough(new DecompressionStream("deflate"));
  const reader = stream.getReader();
  const chunks = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > max) {
        await reader.cancel();
        return null;
      }
      chunks.push(value);
    }
  } catch {
    return null;
  }
  return concat(chunks);
}

// zlib writes zeros into the unused high bits of the last deflate byte (just before the
// 4-byte Adler-32). If clearing some set high bits still inflates to the same bytes, they
// were padding (the same test as certs/encoding.py _has_padding_bits).
async function hasPaddingBits(compressed, expected) {
  const last = compressed.length - 5;
  if (last < 2) return false;
  for (let k = 1; k < 8; k++) {
    const mask = 0xff >> k;
    if ((compressed[last] & ~mask & 0xff) === 0) continue;
    const candidate = compressed.slice();
    candidate[last] = compressed[last] & mask;
    const out = await inflate(candidate, MAX_COSE_BYTES + 1);
    if (out !== null && sameBytes(out, expected)) return true;
  }
  return false;
}
