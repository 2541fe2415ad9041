// The signed trust list (certs/trust_list.py): a COSE_Sign1 by the federation root over a
// CBOR map. The root is PINNED: the list's embedded root must be the pinned one, byte for
// byte, and its signature must verify with that root's key, or nothing is trusted.

import { decodeCbor, isInt } from "./cbor.js";
import { hex, parseSign1, sameBytes } from "./cose.js";
import { parseCertificate } from "./der.js";
import { VerificationError } from "./errors.js";
import { kidOf, verifyCoseSignature } from "./signatures.js";

export const MAX_TRUST_LIST_BYTES = 16 * 1024 * 1024;

/** Thrown when a trust list (or a bundle) must not be used. */
export class TrustListError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

/**
 * Verify and parse a signed trust list against the pinned root (DER bytes). Returns
 * {version, issuedAt, federation, root, towns: Map code → {code, name, mayor, ca},
 * delegations: Map kid hex → cert, revokedKeys / revokedCertificates: Map subject →
 * {reason, revokedAt}, statusSigners: Set of kid hex}.
 */
export async function parseTrustList(data, pinnedRootDer) {
  let message;
  let list;
  try {
    message = parseSign1(data, MAX_TRUST_LIST_BYTES);
    list = await fromCbor(decodeCbor(message.payload));
  } catch (exc) {
    throw new TrustListError("trust_list.malformed", `trust list is malformed: ${exc.message}`);
  }
  if (!sameBytes(list.root.der, pinnedRootDer)) {
    throw new TrustListError("trust_list.anchor", "trust list root is not the pinned root");
  }
  const rootKid = await kidOf(list.root);
  if (!sameBytes(message.kid, rootKid) || !(await verifyCoseSignature(list.root, message.alg, message.toBeSigned, message.signature))) {
    throw new TrustListError("trust_list.signature", "trust list signature does not verify");
  }
  return list;
}

function field(obj, name) {
  if (!obj.has(name)) throw new Error(`missing field ${name}`);
  return obj.get(name);
}

function str(value) {
  if (typeof value !== "string") throw new Error("expected text");
  return value;
}

function int(value) {
  if (!isInt(value)) throw new Error("expected an integer");
  return Number(value);
}

function der(value) {
  if (!(value instanceof Uint8Array)) throw new Error("expected DER bytes");
  return parseCertificate(value);
}

function rows(value) {
  if (!Array.isArray(value)) throw new Error("expected an array");
  return value;
}

async function fromCbor(obj) {
  if (!(obj instanceof Map) || obj.get("format") !== 1) throw new Error("unknown trust list format");
  const towns = new Map();
  for (const row of rows(field(obj, "towns"))) {
    const [code, name, mayor, ca] = rows(row);
    towns.set(str(code), { code: str(code), name: str(name), mayor: str(mayor), ca: der(ca) });
  }
  const delegations = new Map();
  for (const d of rows(field(obj, "delegations"))) {
    const cert = der(d);
    delegations.set(hex(await kidOf(cert)), cert);
  }
  const revocations = (name) => new Map(rows(field(obj, name)).map((row) => {
    const [subject, reason, at] = rows(row);
    return [str(subject), { reason: str(reason), revokedAt: int(at) }];
  }));
  return {
    version: int(field(obj, "version")),
    issuedAt: int(field(obj, "issued_at")),
    federation: str(field(obj, "federation")),
    root: der(field(obj, "root")),
    towns,
    delegations,
    revokedKeys: revocations("revoked_keys"),
    revokedCertificates: revocations("revoked_certificates"),
    statusSigners: statusSigners(obj),
  };
}

// The kids allowed to sign status lists (certs/trust_list.py status_list_signers); a list
// written before the field existed names none, so every status is then unknown.
function statusSigners(obj) {
  if (!obj.has("status_list_signers")) return new Set();
  return new Set(rows(obj.get("status_list_signers")).map((kid) => {
    if (!(kid instanceof Uint8Array)) throw new Error("status signer kid must be bytes");
    return hex(kid);
  }));
}

export { VerificationError };
