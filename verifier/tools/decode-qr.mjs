// Decode QR strings under node with the verifier's own code (no signature check): reads a
// JSON list of QR strings on stdin, prints [{kid, claims_hex, certificate, signedAt,
// version, boxesDigest}] or [{error: code}]. Used by tests/unit/test_verifier_decode.py to
// compare with certs.encoding / certs.claims on the fixed vectors.

import { decodeClaims } from "../src/claims.js";
import { hex, parseSign1 } from "../src/cose.js";
import { formatNumber } from "../src/numbers.js";
import { qrStringToCose } from "../src/qr.js";

async function decode(qr) {
  try {
    const message = parseSign1(await qrStringToCose(qr));
    const claims = decodeClaims(message.payload);
    const c = claims.certificate;
    const certificate = { ...c, number: formatNumber(c.number), supersedes: c.supersedes && formatNumber(c.supersedes) };
    return { kid: hex(message.kid), alg: message.alg, claims_hex: hex(message.payload), certificate,
      signedAt: claims.signedAt, version: claims.version, boxesDigest: claims.boxesDigest && hex(claims.boxesDigest) };
  } catch (exc) {
    return { error: exc.code ?? exc.message };
  }
}

const input = JSON.parse(await new Response(process.stdin).text());
const out = [];
for (const qr of input) out.push(await decode(qr));
process.stdout.write(JSON.stringify(out));
