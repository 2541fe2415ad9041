// COSE_Sign1 (RFC 9052 §4.2), parsed as strictly as certs/cose.py: tagged 18 or untagged,
// a 4-element array of (bytes, empty map, bytes, bytes), canonically encoded (re-encoding
// gives the same bytes), protected header with exactly the allowed labels.

import { CborError, CborTag, concat, decodeCbor, encodeBytes, isInt } from "./cbor.js";
import { VerificationError } from "./errors.js";

export const MAX_COSE_BYTES = 8192;
export const ALG_NAMES = new Map([[-7, "ES256"], [-8, "EdDSA"]]);
const HEADER_ALG = 1;
const HEADER_KID = 4;
const HEADER_CONTENT_TYPE = 16;

/**
 * Parse a COSE_Sign1; `contentType` (e.g. "application/statuslist+cwt") is then required
 * in the protected header (label 16) as the status-list format says, and forbidden otherwise.
 * Returns {protected, alg, kid, payload, signature, toBeSigned}.
 */
export function parseSign1(data, maxSize = MAX_COSE_BYTES, contentType = null) {
  if (!(data instanceof Uint8Array) || data.length < 1 || data.length > maxSize) {
    throw new VerificationError("cose.size", `COSE message must be 1..${maxSize} bytes`, "cose");
  }
  let obj;
  try {
    obj = decodeCbor(data);
  } catch (exc) {
    throw new VerificationError("cose.cbor", `not valid CBOR: ${exc.message}`, "cose");
  }
  const tagged = obj instanceof CborTag;
  if (tagged) {
    if (obj.tag !== 18) throw new VerificationError("cose.tag", `CBOR tag ${obj.tag} is not COSE_Sign1 (18)`, "cose");
    obj = obj.value;
  }
  if (!Array.isArray(obj) || obj.length !== 4) {
    throw new VerificationError("cose.structure", "COSE_Sign1 must be a 4-element array", "cose");
  }
  const [protectedBytes, unprotected, payload, signature] = obj;
  if (!(protectedBytes instanceof Uint8Array && unprotected instanceof Map && payload instanceof Uint8Array
        && signature instanceof Uint8Array)) {
    throw new VerificationError("cose.structure", "COSE_Sign1 elements have the wrong types", "cose");
  }
  if (unprotected.size) throw new VerificationError("cose.unprotected", "unprotected header must be empty", "cose");
  if (!sameBytes(encodeSign1(protectedBytes, payload, signature, tagged), data)) {
    throw new VerificationError("cose.noncanonical", "COSE_Sign1 is not canonically encoded", "cose");
  }
  const { alg, kid } = parseProtected(protectedBytes, contentType);
  return { protected: protectedBytes, alg, kid, payload, signature, toBeSigned: sigStructure(protectedBytes, payload) };
}

/** Sig_structure for COSE_Sign1 with empty external AAD. */
export function sigStructure(protectedBytes, payload) {
  const context = new TextEncoder().encode("Signature1");
  return concat([Uint8Array.of(0x84, 0x60 | context.length), context, encodeBytes(protectedBytes),
    Uint8Array.of(0x40), encodeBytes(payload)]);
}

function encodeSign1(protectedBytes, payload, signature, tagged) {
  const parts = [Uint8Array.of(0x84), encodeBytes(protectedBytes), Uint8Array.of(0xa0), encodeBytes(payload),
    encodeBytes(signature)];
  return concat(tagged ? [Uint8Array.of(0xd2), ...parts] : parts);
}

function parseProtected(bytes, contentType) {
  let header;
  try {
    header = decodeCbor(bytes);
  } catch (exc) {
    if (!(exc instanceof CborError)) throw exc;
    throw new VerificationError("cose.header", "protected header is not valid CBOR", "cose");
  }
  const expected = contentType === null ? [HEADER_ALG, HEADER_KID] : [HEADER_ALG, HEADER_KID, HEADER_CONTENT_TYPE];
  if (!(header instanceof Map) || header.size !== expected.length || !expected.every((k) => header.has(k))) {
    throw new VerificationError("cose.header", `protected header must hold exactly ${expected.join(", ")}`, "cose");
  }
  const alg = header.get(HEADER_ALG);
  const kid = header.get(HEADER_KID);
  if (!isInt(alg) || !ALG_NAMES.has(alg)) throw new VerificationError("cose.alg", `unsupported COSE algorithm ${alg}`, "cose");
  if (!(kid instanceof Uint8Array) || kid.length < 1 || kid.length > 32) {
    throw new VerificationError("cose.kid", "kid must be 1..32 bytes", "cose");
  }
  if (contentType !== null && header.get(HEADER_CONTENT_TYPE) !== contentType) {
    throw new VerificationError("cose.content_type", `content type must be ${contentType}`, "cose");
  }
  return { alg: ALG_NAMES.get(alg), kid };
}

/** Byte-wise equality. */
export function sameBytes(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Lowercase hex of bytes. */
export function hex(bytes) {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}
