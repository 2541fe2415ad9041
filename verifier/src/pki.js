// The federation PKI as certs/pki.py reads it: a delegation certificate names the town and
// node in a critical private extension and carries the certificate-signing key purpose;
// a parent "issued" a child if it is a CA, the names chain and the signature verifies.

import { sameBytes } from "./cose.js";
import { OID, basicConstraints, extendedKeyUsage } from "./der.js";
import { isNodeId, isTownCode } from "./numbers.js";
import { verifyCertificateSignature } from "./signatures.js";

/** What a delegation grants: {townCode, nodeId}; throws Error with the reason. */
export function delegationOf(cert) {
  const ext = cert.extensions.get(OID.delegation);
  const eku = extendedKeyUsage(cert);
  if (!ext || eku === null) throw new Error("certificate is not a delegation certificate");
  if (!eku.includes(OID.ekuCertSigning)) throw new Error("certificate lacks the certificate-signing key purpose");
  const [townCode, nodeId] = decodeDelegation(ext.value);
  if (!isTownCode(townCode)) throw new Error(`bad town code ${townCode} in the delegation`);
  if (!isNodeId(nodeId)) throw new Error(`bad node id ${nodeId} in the delegation`);
  return { townCode, nodeId };
}

// DER SEQUENCE { UTF8String town, UTF8String node }, short lengths only (as written).
function decodeDelegation(value) {
  if (value[0] !== 0x30 || value[1] !== value.length - 2) throw new Error("malformed delegation extension: not a short SEQUENCE");
  const parts = [];
  let pos = 2;
  while (pos < value.length) {
    if (value[pos] !== 0x0c || value[pos + 1] >= 0x80) throw new Error("malformed delegation extension: not a short UTF8String");
    const end = pos + 2 + value[pos + 1];
    if (end > value.length) throw new Error("malformed delegation extension: truncated");
    const part = value.subarray(pos + 2, end);
    if (part.some((b) => b >= 0x80)) throw new Error("malformed delegation extension: not ASCII");
    parts.push(String.fromCharCode(...part));
    pos = end;
  }
  if (parts.length !== 2) throw new Error("malformed delegation extension: expected two strings");
  return parts;
}

/** The town code in a town CA's subject serialNumber; throws if absent or invalid. */
export function townCodeOf(ca) {
  const values = ca.subjectAttrs.get(OID.serialNumber) ?? [];
  if (values.length !== 1) throw new Error("certificate has no single town code in its subject");
  if (!isTownCode(values[0])) throw new Error(`bad town code ${values[0]}`);
  return values[0];
}

/** null if `parent` issued `child` and may issue certificates, else the reason (English). */
export async function issuedBy(child, parent) {
  const constraints = basicConstraints(parent);
  if (constraints === null || !constraints.ca) return "issuer is not a CA";
  if (!sameBytes(child.issuer, parent.subject)) return "not issued by this CA (issuer name differs)";
  if (!(await verifyCertificateSignature(child, parent))) return "signature by issuer does not verify";
  return null;
}

/** True if epoch second `at` lies within the certificate's validity (inclusive). */
export function withinValidity(cert, at) {
  return cert.notBefore <= at && at <= cert.notAfter;
}
