// Run verifier cases under node: reads JSON {root_der_b64, cases: [{name, qr, bundle (base64),
// now (ISO)}]} on stdin and prints [{name, verdict, bundle_error, superseded_by, failed}] as JSON.
// Used by tests/integration/test_verifier_cross.py to compare with certs.verify.

import { webcrypto } from "node:crypto";
import { parseBundle, BundleError } from "../src/bundle.js";
import { verifyQr, VERDICTS } from "../src/verify.js";

globalThis.crypto ??= webcrypto;

const b64 = (text) => new Uint8Array(Buffer.from(text, "base64"));

async function runCase(root, c) {
  const now = Math.floor(Date.parse(c.now) / 1000);
  let bundle;
  try {
    bundle = await parseBundle(b64(c.bundle), root);
  } catch (exc) {
    if (!(exc instanceof BundleError)) throw exc;
    return { name: c.name, verdict: VERDICTS.INVALID.ja, bundle_error: exc.code, superseded_by: null, failed: null };
  }
  const result = await verifyQr(c.qr, bundle, now);
  return { name: c.name, verdict: VERDICTS[result.verdict].ja, bundle_error: null,
    superseded_by: result.supersededBy, failed: result.failed?.name ?? null, checks: result.checks };
}

const input = JSON.parse(await new Response(process.stdin).text());
const root = b64(input.root_der_b64);
const out = [];
for (const c of input.cases) out.push(await runCase(root, c));
process.stdout.write(JSON.stringify(out, null, 1));
