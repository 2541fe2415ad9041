// The verifier bundle (certs/bundle.py): {"format": 1, "created_at", "root", "trust_list",
// "status_lists"}. Not signed itself; everything inside is. Its root must be the pinned
// root, its trust list must verify under it, and each status list is checked against the
// trust list: a refused list is dropped (its node's certificates are then 確認不能).

import { decodeCbor, isInt } from "./cbor.js";
import { sameBytes } from "./cose.js";
import { parseStatusList } from "./status.js";
import { TrustListError, parseTrustList } from "./trust.js";

const MAX_BUNDLE_BYTES = 128 * 1024 * 1024;
const SHAPE = { format: "int", created_at: "int", root: "bytes", trust_list: "bytes", status_lists: "array" };

/** Thrown when a bundle cannot be used at all. */
export class BundleError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

function hasType(value, type) {
  if (type === "int") return isInt(value);
  if (type === "bytes") return value instanceof Uint8Array;
  return Array.isArray(value);
}

/**
 * Verify a bundle against the pinned root (DER): {createdAt, trust, lists: Map node → list,
 * rejected: [[position, reason]]}. Throws BundleError when it cannot be used.
 */
export async function parseBundle(data, pinnedRootDer) {
  if (!(data instanceof Uint8Array) || data.length < 1 || data.length > MAX_BUNDLE_BYTES) {
    throw new BundleError("bundle.size", "bundle is empty or too large");
  }
  let obj;
  try {
    obj = decodeCbor(data);
  } catch (exc) {
    throw new BundleError("bundle.cbor", `bundle is not valid CBOR: ${exc.message}`);
  }
  const keys = Object.keys(SHAPE);
  if (!(obj instanceof Map) || obj.size !== keys.length || !keys.every((k) => obj.has(k)) || obj.get("format") !== 1) {
    throw new BundleError("bundle.format", "not a verifier bundle of format 1");
  }
  if (!keys.every((k) => hasType(obj.get(k), SHAPE[k])) || !obj.get("status_lists").every((s) => s instanceof Uint8Array)) {
    throw new BundleError("bundle.format", "bundle fields have the wrong types");
  }
  if (!sameBytes(obj.get("root"), pinnedRootDer)) {
    throw new BundleError("bundle.anchor", "bundle root is not the pinned federation root");
  }
  let trust;
  try {
    trust = await parseTrustList(obj.get("trust_list"), pinnedRootDer);
  } catch (exc) {
    if (!(exc instanceof TrustListError)) throw exc;
    throw new BundleError("bundle.trust_list", `bundle trust list refused: ${exc.message}`);
  }
  const lists = new Map();
  const rejected = [];
  for (const [position, signed] of obj.get("status_lists").entries()) {
    let parsed;
    try {
      parsed = await parseStatusList(signed, trust);
    } catch (exc) {
      rejected.push([position, exc.message]);
      continue;
    }
    const current = lists.get(parsed.nodeId);
    if (!current || parsed.issuedAt > current.issuedAt) lists.set(parsed.nodeId, parsed);
  }
  return { createdAt: Number(obj.get("created_at")), trust, lists, rejected };
}
