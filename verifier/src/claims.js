// The certificate claims (COSE payload), formats 2 and 1, decoded and validated exactly as
// certs/claims.py and certs/claims_v1.py do (docs/certs.md has the table). Any mismatch
// throws VerificationError claims.cbor / claims.structure, which fails the format check.

import { decodeCbor, isInt } from "./cbor.js";
import { VerificationError } from "./errors.js";
import { isTownCode, makeNumber, parseNumber } from "./numbers.js";

const CLAIM_ISS = 1;
const CLAIM_IAT = 6;
const CLAIM_CERT = -65537;
const REQUIRED = [0, 1, 2, 4, 5, 6, 7, 12, 13, 14];
const ALLOWED_V2 = new Set([...REQUIRED, 3, 8, 10, 15, 16]);
export const TYPES = { 1: "罹災証明書", 2: "被災証明" };
export const CLASSES = { 1: "全壊", 2: "大規模半壊", 3: "中規模半壊", 4: "半壊", 5: "準半壊", 6: "準半壊に至らない（一部損壊）" };
export const FLOODING = { 1: "床上浸水", 2: "床下浸水" };
const utf16 = new TextDecoder("utf-16be", { fatal: true });

function expect(condition, what) {
  if (!condition) throw new Error(`bad ${what}`);
}

function text(value) {
  expect(typeof value === "string", "string");
  return value;
}

function array(value, length) {
  expect(Array.isArray(value) && (length === null || value.length === length), "array");
  return value;
}

function lookup(table, value) {
  expect(isInt(value) && Object.hasOwn(table, String(value)), "enum");
  return table[value];
}

// Days since 1970-01-01 → "YYYY-MM-DD".
function asDate(value) {
  expect(typeof value === "number" && Number.isInteger(value) && value >= 0 && value < 200000, "date");
  return new Date(value * 86400000).toISOString().slice(0, 10);
}

// pack_text's inverse: text, or UTF-16BE bytes only when UTF-8 would be longer.
function unpackText(value) {
  if (typeof value === "string") return value;
  expect(value instanceof Uint8Array && value.length % 2 === 0, "packed text");
  let result;
  try {
    result = utf16.decode(value);
  } catch {
    throw new Error("bad packed text");
  }
  expect(new TextEncoder().encode(result).length > value.length, "packed text (UTF-8 would be as short)");
  return result;
}

/** Decode claims bytes: {certificate, signedAt (epoch s), version, boxesDigest}. */
export function decodeClaims(payload) {
  let claims;
  try {
    claims = decodeCbor(payload);
  } catch (exc) {
    throw new VerificationError("claims.cbor", `claims are not valid CBOR: ${exc.message}`, "payload");
  }
  try {
    return parse(claims);
  } catch (exc) {
    throw new VerificationError("claims.structure", `claims have the wrong structure: ${exc.message}`, "payload");
  }
}

function parse(claims) {
  expect(claims instanceof Map && claims.size === 3 && [CLAIM_ISS, CLAIM_IAT, CLAIM_CERT].every((k) => claims.has(k)),
    "claims map keys");
  const body = claims.get(CLAIM_CERT);
  const iat = claims.get(CLAIM_IAT);
  const iss = claims.get(CLAIM_ISS);
  expect(typeof iat === "number" && Number.isInteger(iat) && iat >= 0 && iat < 2 ** 40, "iat");
  expect(body instanceof Map && (body.get(0) === 1 || body.get(0) === 2), "schema version");
  if (body.get(0) === 1) return { certificate: parseV1(iss, body), signedAt: iat, version: 1, boxesDigest: null };
  return parseV2(iss, body, iat);
}

function keysOf(body) {
  return [...body.keys()];
}

function parseV2(iss, body, iat) {
  expect(keysOf(body).every((k) => ALLOWED_V2.has(k)) && REQUIRED.every((k) => body.has(k)), "content keys");
  const number = numberFrom(iss, body.get(2));
  const digest = body.has(16) ? body.get(16) : null;
  expect(digest === null || (digest instanceof Uint8Array && digest.length === 16), "printed-boxes digest");
  const householder = body.has(3) ? body.get(3) : body.get(7);
  const householderInQr = householder !== null;
  expect(householderInQr || digest !== null, "householder address left out without a digest");
  expect(!body.has(3) || !sameValue(body.get(3), body.get(7)), "householder address omitted when equal");
  const town = array(body.get(12), 2);
  const issuing = array(body.get(13), 2);
  const certificate = {
    number,
    type: lookup(TYPES, body.get(1)),
    householderAddress: householderInQr ? unpackText(householder) : null,
    householderName: unpackText(body.get(4)),
    disaster: { name: unpackText(body.get(5)), date: asDate(body.get(6)) },
    dwellingAddress: unpackText(body.get(7)),
    damageClass: body.has(8) ? lookup(CLASSES, body.get(8)) : null,
    competentTown: { code: number.townCode, name: unpackText(town[0]), mayor: unpackText(town[1]) },
    issuing: { nodeId: number.nodeId, townCode: text(issuing[0]), townName: unpackText(issuing[1]), place: null },
    issueDate: asDate(body.get(14)),
    flooding: body.has(10) ? lookup(FLOODING, body.get(10)) : null,
    supersedes: body.has(15) ? numberFrom(iss, body.get(15)) : null,
    members: [],
    otherDamage: null,
  };
  return { certificate: validated(certificate), signedAt: iat, version: 2, boxesDigest: digest };
}

function parseV1(iss, body) {
  expect(keysOf(body).every((k) => isInt(k) && k >= 0 && k < 16) && REQUIRED.every((k) => body.has(k)), "content keys");
  const number = parseNumber(text(body.get(2)));
  const town = array(body.get(12), 2).map(text);
  const issuing = array(body.get(13), null).map(text);
  expect(issuing.length === 2 || issuing.length === 3, "issuing");
  expect(iss === number.townCode, "iss equals competent town");
  expect(!body.has(3) || !sameValue(body.get(3), body.get(7)), "householder address omitted when equal");
  return validated({
    number,
    type: lookup(TYPES, body.get(1)),
    householderAddress: body.has(3) ? text(body.get(3)) : text(body.get(7)),
    householderName: text(body.get(4)),
    disaster: { name: text(body.get(5)), date: asDate(body.get(6)) },
    dwellingAddress: text(body.get(7)),
    damageClass: body.has(8) ? lookup(CLASSES, body.get(8)) : null,
    competentTown: { code: number.townCode, name: town[0], mayor: town[1] },
    issuing: { nodeId: number.nodeId, townCode: issuing[0], townName: issuing[1], place: issuing[2] ?? null },
    issueDate: asDate(body.get(14)),
    flooding: body.has(10) ? lookup(FLOODING, body.get(10)) : null,
    supersedes: body.has(15) ? parseNumber(text(body.get(15))) : null,
    members: array(body.has(9) ? body.get(9) : [], null).map((m) => {
      const [name, relation] = array(m, 2).map(text);
      return { name, relation };
    }),
    otherDamage: body.has(11) ? text(body.get(11)) : null,
  });
}

// The rules certs/model.py checks when a Certificate is built: a QR whose content breaks
// them is refused there as malformed, so here too.
function validated(cert) {
  const texts = [cert.householderName, cert.dwellingAddress, cert.disaster.name, cert.competentTown.name,
    cert.competentTown.mayor, cert.issuing.townName, ...cert.members.flatMap((m) => [m.name, m.relation])];
  if (cert.householderAddress !== null) texts.push(cert.householderAddress);
  for (const optional of [cert.otherDamage, cert.issuing.place]) if (optional !== null) texts.push(optional);
  for (const t of texts) {
    expect(typeof t === "string" && t.trim() !== "" && [...t].length <= 200 && !/[\u0000-\u001f]/.test(t), "text");
  }
  expect(isTownCode(cert.issuing.townCode), "issuing town code");
  expect((cert.type === TYPES[1]) === (cert.damageClass !== null), "damage class for the certificate type");
  expect(cert.issueDate >= cert.disaster.date, "issue date before the disaster");
  expect(cert.members.length <= 20, "members");
  const s = cert.supersedes;
  expect(s === null || (s.townCode === cert.number.townCode
    && !(s.nodeId === cert.number.nodeId && s.sequence === cert.number.sequence)), "supersedes");
  expect(cert.number.nodeId === cert.issuing.nodeId, "issuing node");
  return cert;
}

function numberFrom(iss, value) {
  const [nodeId, sequence] = array(value, 2);
  expect(typeof iss === "string" && typeof nodeId === "string" && isInt(sequence), "certificate number");
  return makeNumber(iss, nodeId, sequence);
}

// Python's `!=` between decoded values: equal text, or equal bytes.
function sameValue(a, b) {
  if (a instanceof Uint8Array && b instanceof Uint8Array) return a.length === b.length && a.every((x, i) => x === b[i]);
  return a === b;
}
