// Town codes (5 digits + check digit), node ids and 整理番号, validated as in
// certs/town_code.py and certs/numbers.py: only the canonical spelling is accepted.

const NODE_ID = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const SEQUENCE = /^(?:0\d{5}|[1-9]\d{5,})$/;

/** True if `code` is a 6-digit 全国地方公共団体コード with the right check digit. */
export function isTownCode(code) {
  if (typeof code !== "string" || !/^\d{6}$/.test(code)) return false;
  const total = [6, 5, 4, 3, 2].reduce((sum, w, i) => sum + w * Number(code[i]), 0);
  return Number(code[5]) === (11 - (total % 11)) % 10;
}

/** True if `id` is a node id: lowercase [a-z0-9] groups joined by single hyphens, ≤ 63 chars. */
export function isNodeId(id) {
  return typeof id === "string" && id.length <= 63 && NODE_ID.test(id);
}

/** 整理番号 text: "<town>-<node>-<sequence zero-padded to 6>". */
export function formatNumber({ townCode, nodeId, sequence }) {
  return `${townCode}-${nodeId}-${String(sequence).padStart(6, "0")}`;
}

/** A validated number {townCode, nodeId, sequence}; throws Error naming the broken part. */
export function makeNumber(townCode, nodeId, sequence) {
  if (!isTownCode(townCode)) throw new Error(`bad town code ${townCode}`);
  if (!isNodeId(nodeId)) throw new Error(`bad node id ${nodeId}`);
  const ok = (typeof sequence === "number" && Number.isInteger(sequence) && sequence >= 1)
    || (typeof sequence === "bigint" && sequence >= 1n);
  if (!ok) throw new Error(`bad sequence ${sequence}`);
  return { townCode, nodeId, sequence };
}

/** Parse the canonical text form (format-1 QRs carry numbers as text). */
export function parseNumber(text) {
  if (typeof text !== "string" || text.length < 15 || text[6] !== "-") throw new Error(`not a certificate number: ${text}`);
  const rest = text.slice(7);
  const cut = rest.lastIndexOf("-");
  const sequence = rest.slice(cut + 1);
  if (!SEQUENCE.test(sequence)) throw new Error(`bad sequence part in ${text}`);
  const value = BigInt(sequence);
  return makeNumber(text.slice(0, 6), cut < 0 ? "" : rest.slice(0, cut),
    value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value);
}
