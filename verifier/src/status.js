// Signed status lists (certs/status_list.py; docs/certs.md "Status lists"): one per issuing
// node, 2 bits per certificate indexed by the sequence of its 整理番号, in a COSE_Sign1 with
// typ "application/statuslist+cwt" by a key the trust list names as a status-list signer.

import { decodeCbor, isInt } from "./cbor.js";
import { hex, parseSign1 } from "./cose.js";
import { inflate } from "./qr.js";
import { formatNumber, isNodeId, parseNumber } from "./numbers.js";
import { delegationOf, withinValidity } from "./pki.js";
import { verifyCoseSignature } from "./signatures.js";

export const TYP = "application/statuslist+cwt";
const SUBJECT_PREFIX = "risai:status:";
const MAX_SIGNED_BYTES = 64 * 1024 * 1024;
const MAX_BITSTRING_BYTES = 16 * 1024 * 1024;
export const CLOCK_SKEW = 300;
const CLAIMS = [2, 6, 4, 65534, 65533, -65537, -65538];
export const STATUS = ["valid", "revoked", "under_review", "superseded"];

export class StatusListError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

/**
 * Verify a signed status list against a parsed trust list and decode it:
 * {nodeId, signerNode, kid, issuedAt, expiresAt, ttl, bits, supersededBy: Map index → 整理番号}.
 * Expiry is not checked here; see lookupStatus.
 */
export async function parseStatusList(data, trust) {
  let message;
  try {
    message = parseSign1(data, MAX_SIGNED_BYTES, TYP);
  } catch (exc) {
    throw new StatusListError("status_list.malformed", `status list is malformed: ${exc.message}`);
  }
  let claims;
  try {
    claims = await decodeClaims(message.payload);
  } catch (exc) {
    throw new StatusListError("status_list.malformed", `status list is malformed: ${exc.message}`);
  }
  const delegation = checkSigner(trust, message.kid, claims.signerNode, claims.issuedAt);
  if (!(await verifyCoseSignature(delegation, message.alg, message.toBeSigned, message.signature))) {
    throw new StatusListError("status_list.signature", "status list signature does not verify");
  }
  return { ...claims, kid: message.kid };
}

function checkSigner(trust, kid, signerNode, issuedAt) {
  const id = hex(kid);
  const delegation = trust.delegations.get(id);
  if (!delegation || !trust.statusSigners.has(id)) throw new StatusListError("status_list.signer", `key ${id} may not sign status lists`);
  if (trust.revokedKeys.has(id)) throw new StatusListError("status_list.signer_revoked", `key ${id} is revoked`);
  let owner;
  try {
    owner = delegationOf(delegation).nodeId;
  } catch {
    throw new StatusListError("status_list.signer", "signer's delegation is malformed");
  }
  if (owner !== signerNode) throw new StatusListError("status_list.signer_node", `key belongs to node ${owner}, the list claims ${signerNode}`);
  if (!(withinValidity(delegation, issuedAt + CLOCK_SKEW) || withinValidity(delegation, issuedAt - CLOCK_SKEW))) {
    throw new StatusListError("status_list.signer_validity", "signer's delegation was not valid at issue time");
  }
  return delegation;
}

function time(value) {
  if (!(typeof value === "number" && Number.isInteger(value) && value >= 0 && value < 2 ** 40)) {
    throw new Error("times must be non-negative integers");
  }
  return value;
}

async function decodeClaims(payload) {
  const obj = decodeCbor(payload);
  if (!(obj instanceof Map) || obj.size !== CLAIMS.length || !CLAIMS.every((k) => obj.has(k))) {
    throw new Error("claims must be exactly sub, iat, exp, ttl, status_list, superseded_by, signer_node");
  }
  const sub = obj.get(2);
  const signerNode = obj.get(-65538);
  if (!(typeof sub === "string" && sub.startsWith(SUBJECT_PREFIX) && typeof signerNode === "string")) {
    throw new Error("sub or signer_node is not a node id");
  }
  const nodeId = sub.slice(SUBJECT_PREFIX.length);
  if (!isNodeId(nodeId) || !isNodeId(signerNode)) throw new Error("bad node id");
  const [issuedAt, expiresAt, ttl] = [6, 4, 65534].map((k) => time(obj.get(k)));
  if (expiresAt < issuedAt) throw new Error("exp before iat, or negative ttl");
  const bits = await bitstring(obj.get(65533));
  return { nodeId, signerNode, issuedAt, expiresAt, ttl, bits, supersededBy: superseded(obj.get(-65537), bits) };
}

async function bitstring(obj) {
  if (!(obj instanceof Map) || obj.size !== 2 || obj.get("bits") !== 2 || !(obj.get("lst") instanceof Uint8Array)) {
    throw new Error('status_list must be {"bits": 2, "lst": bytes}');
  }
  const bits = await inflate(obj.get("lst"), MAX_BITSTRING_BYTES);
  if (bits === null || bits.length === 0) throw new Error("lst is not one complete zlib stream within the size bound");
  return bits;
}

function superseded(obj, bits) {
  if (!(obj instanceof Map)) throw new Error("superseded_by must be a map");
  const result = new Map();
  for (const [index, number] of obj) {
    if (!isInt(index) || statusAt(bits, index) !== 3) throw new Error(`superseded_by names index ${index}, which is not superseded`);
    result.set(Number(index), formatNumber(parseNumber(number)));
  }
  let count = 0;
  for (let i = 0; i < bits.length * 4; i++) if (statusAt(bits, i) === 3) count++;
  if (count !== result.size) throw new Error(`${count - result.size} superseded indexes lack their successor`);
  return result;
}

/** The 2-bit status of `index` (0..3), or null when the bitstring does not reach it. */
export function statusAt(bits, index) {
  if (typeof index === "bigint") return null;
  if (index < 0 || Math.floor(index / 4) >= bits.length) return null;
  return (bits[Math.floor(index / 4)] >> ((index % 4) * 2)) & 3;
}

/**
 * The status of certificate `number` (signed at `signedAt`) at `now` from the lists by node:
 * {outcome: valid | revoked | under_review | superseded | unknown, supersededBy, list, reason}.
 */
export function lookupStatus(lists, number, now, signedAt) {
  const list = lists.get(number.nodeId);
  if (!list) return { outcome: "unknown", list: null, reason: `no status list for issuing node ${number.nodeId}` };
  const unknown = (reason) => ({ outcome: "unknown", list, reason });
  if (now > list.expiresAt) return unknown(`status list expired at ${new Date(list.expiresAt * 1000).toISOString()}`);
  if (list.issuedAt > now + CLOCK_SKEW) return unknown("status list is dated in the future");
  if (signedAt > list.issuedAt) return unknown("certificate is newer than the status list");
  const status = statusAt(list.bits, number.sequence);
  if (status === null) return unknown("certificate is beyond the end of the status list");
  return { outcome: STATUS[status], supersededBy: list.supersededBy.get(number.sequence) ?? null, list, reason: "" };
}
