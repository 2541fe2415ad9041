// Signatures with WebCrypto: COSE signatures (ES256 raw r‖s, EdDSA) by a certificate's
// public key, and X.509 signatures (ecdsa-with-SHA256 in DER, Ed25519) by an issuer.
// Imported keys are cached per SubjectPublicKeyInfo: a trust list has few distinct keys.

import { hex } from "./cose.js";
import { OID, ecdsaDerToRaw } from "./der.js";

const keys = new Map();

function subtle() {
  return globalThis.crypto.subtle;
}

/** The COSE algorithm name a certificate's key supports: "ES256", "EdDSA" or null. */
export function algOfKey(cert) {
  if (cert.keyAlg === OID.ecPublicKey && cert.curve === OID.p256) return "ES256";
  if (cert.keyAlg === OID.ed25519) return "EdDSA";
  return null;
}

/** Error thrown when this browser's WebCrypto lacks an algorithm (EdDSA in older browsers). */
export class UnsupportedAlgorithm extends Error {}

async function importKey(cert) {
  const id = hex(cert.spki);
  if (!keys.has(id)) {
    const alg = algOfKey(cert);
    const params = alg === "ES256" ? { name: "ECDSA", namedCurve: "P-256" } : { name: "Ed25519" };
    const pending = subtle().importKey("spki", cert.spki, params, false, ["verify"]).catch((exc) => {
      keys.delete(id);
      if (alg === "EdDSA") throw new UnsupportedAlgorithm(`this browser cannot verify Ed25519 (${exc.message})`);
      throw exc;
    });
    keys.set(id, pending);
  }
  return keys.get(id);
}

async function verifyRaw(cert, alg, data, signature) {
  const key = await importKey(cert);
  const params = alg === "ES256" ? { name: "ECDSA", hash: "SHA-256" } : { name: "Ed25519" };
  return subtle().verify(params, key, signature, data);
}

/**
 * True if the COSE `signature` (64 bytes) over `data` verifies with `cert`'s key and `alg`,
 * as certs.keys.verify_signature: the algorithm must be the key's, the length 64.
 * Throws UnsupportedAlgorithm when the browser cannot check EdDSA at all.
 */
export async function verifyCoseSignature(cert, alg, data, signature) {
  if (alg !== algOfKey(cert) || signature.length !== 64) return false;
  try {
    return await verifyRaw(cert, alg, data, signature);
  } catch (exc) {
    if (exc instanceof UnsupportedAlgorithm) throw exc;
    return false;
  }
}

/** True if `child`'s X.509 signature verifies with `parent`'s key. */
export async function verifyCertificateSignature(child, parent) {
  const parentAlg = algOfKey(parent);
  try {
    if (child.signatureAlg === OID.ecdsaSha256 && parentAlg === "ES256") {
      return await verifyRaw(parent, "ES256", child.tbs, ecdsaDerToRaw(child.signature));
    }
    if (child.signatureAlg === OID.ed25519 && parentAlg === "EdDSA") {
      return await verifyRaw(parent, "EdDSA", child.tbs, child.signature);
    }
  } catch (exc) {
    if (exc instanceof UnsupportedAlgorithm) throw exc;
    return false;
  }
  return false;
}

/** SHA-256 of bytes. */
export async function sha256(bytes) {
  return new Uint8Array(await subtle().digest("SHA-256", bytes));
}

/** Key id of a certificate: the first 8 bytes of SHA-256 over its DER (certs.pki.kid_of). */
export async function kidOf(cert) {
  return (await sha256(cert.der)).subarray(0, 8);
}
