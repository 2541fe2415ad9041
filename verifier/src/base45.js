// RFC 9285 base45 decoding, strict like certs/encoding.py b45decode: every character in the
// alphabet, no dangling character, no group or final pair out of range.

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
const VALUES = new Map([...ALPHABET].map((ch, i) => [ch, i]));

/** True if every character of `text` is in the base45 alphabet. */
export function isBase45(text) {
  for (const ch of text) if (!VALUES.has(ch)) return false;
  return true;
}

/** Decode base45 text to bytes; throws Error naming the problem. */
export function b45decode(text) {
  const values = [];
  for (const ch of text) {
    const v = VALUES.get(ch);
    if (v === undefined) throw new Error("character outside the base45 alphabet");
    values.push(v);
  }
  const full = values.length - (values.length % 3);
  const rest = values.length - full;
  if (rest === 1) throw new Error("dangling base45 character");
  const out = new Uint8Array((full / 3) * 2 + (rest ? 1 : 0));
  let o = 0;
  for (let i = 0; i < full; i += 3) {
    const word = values[i] + 45 * values[i + 1] + 2025 * values[i + 2];
    if (word > 0xffff) throw new Error("base45 group out of range");
    out[o++] = word >> 8;
    out[o++] = word & 0xff;
  }
  if (rest) {
    const last = values[full] + 45 * values[full + 1];
    if (last > 0xff) throw new Error("base45 final pair out of range");
    out[o] = last;
  }
  return out;
}
