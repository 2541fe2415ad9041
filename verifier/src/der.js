// A small DER reader and the parts of X.509 the verifier needs (RFC 5280): the signed
// TBSCertificate bytes, issuer and subject (raw, and the serialNumber attribute), the
// validity window, the public key, and the extensions. Anything that is not well-formed
// DER throws DerError; a certificate that parses here was also accepted by the Python
// side's `cryptography`, which built it.

export class DerError extends Error {}

/** Read one TLV at `pos` of `bytes`: {tag, at (of the header), start (of content), end, next}. */
export function readTlv(bytes, pos, limit = bytes.length) {
  if (pos + 2 > limit) throw new DerError("truncated DER");
  const tag = bytes[pos];
  if ((tag & 0x1f) === 0x1f) throw new DerError("multi-byte DER tags are not supported");
  let len = bytes[pos + 1];
  let start = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new DerError("bad DER length");
    if (start + n > limit) throw new DerError("truncated DER length");
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + bytes[start + i];
    if (bytes[start] === 0 || len < 0x80) throw new DerError("DER length is not minimal");
    start += n;
  }
  const end = start + len;
  if (end > limit) throw new DerError("DER content runs past its container");
  return { tag, at: pos, start, end, next: end };
}

/** The TLVs inside a constructed element, in order. */
export function children(bytes, tlv) {
  const out = [];
  for (let pos = tlv.start; pos < tlv.end;) {
    const child = readTlv(bytes, pos, tlv.end);
    out.push(child);
    pos = child.next;
  }
  return out;
}

function expectTag(tlv, tag, what) {
  if (tlv === undefined || tlv.tag !== tag) throw new DerError(`expected ${what}`);
  return tlv;
}

/** Dotted OID string from an OBJECT IDENTIFIER's content. */
export function oid(bytes, tlv) {
  // BigInt: the UUID arc 2.25.<128-bit number> of our private OIDs exceeds 2^53.
  const parts = [];
  let value = 0n;
  for (let i = tlv.start; i < tlv.end; i++) {
    value = (value << 7n) | BigInt(bytes[i] & 0x7f);
    if (!(bytes[i] & 0x80)) {
      if (parts.length === 0) parts.push(value < 80n ? value / 40n : 2n, value < 80n ? value % 40n : value - 80n);
      else parts.push(value);
      value = 0n;
    }
  }
  if (tlv.end === tlv.start || bytes[tlv.end - 1] & 0x80) throw new DerError("bad OBJECT IDENTIFIER");
  return parts.join(".");
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function text(bytes, tlv) {
  return utf8.decode(bytes.subarray(tlv.start, tlv.end));
}

// UTCTime (YYMMDDHHMMSSZ) or GeneralizedTime (YYYYMMDDHHMMSSZ) → epoch seconds.
function time(bytes, tlv) {
  const s = String.fromCharCode(...bytes.subarray(tlv.start, tlv.end));
  let m;
  if (tlv.tag === 0x17 && (m = /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(s))) {
    const yy = Number(m[1]);
    m[1] = String(yy >= 50 ? 1900 + yy : 2000 + yy);
  } else if (!(tlv.tag === 0x18 && (m = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(s)))) {
    throw new DerError("bad certificate time");
  }
  const [y, mo, d, h, mi, se] = m.slice(1).map(Number);
  return Date.UTC(y, mo - 1, d, h, mi, se) / 1000;
}

export const OID = {
  ecPublicKey: "1.2.840.10045.2.1",
  p256: "1.2.840.10045.3.1.7",
  ed25519: "1.3.101.112",
  ecdsaSha256: "1.2.840.10045.4.3.2",
  serialNumber: "2.5.4.5",
  commonName: "2.5.4.3",
  basicConstraints: "2.5.29.19",
  extKeyUsage: "2.5.29.37",
  delegation: "2.25.31122992788610468450511199230181575966.1",
  ekuCertSigning: "2.25.31122992788610468450511199230181575966.2",
};

/**
 * Parse an X.509 certificate (DER). Returns {der, tbs, signatureAlg, signature, issuer,
 * subject, subjectAttrs (oid → [values]), notBefore, notAfter (epoch s), spki, keyAlg,
 * curve, extensions (oid → {critical, value})}.
 */
export function parseCertificate(der) {
  const outer = expectTag(readTlv(der, 0), 0x30, "Certificate SEQUENCE");
  if (outer.end !== der.length) throw new DerError("trailing bytes after the certificate");
  const [tbsTlv, algTlv, sigTlv, extra] = children(der, outer);
  if (extra !== undefined) throw new DerError("extra elements in Certificate");
  expectTag(tbsTlv, 0x30, "TBSCertificate");
  const signatureAlg = algorithm(der, expectTag(algTlv, 0x30, "signatureAlgorithm"));
  expectTag(sigTlv, 0x03, "signatureValue BIT STRING");
  if (der[sigTlv.start] !== 0) throw new DerError("signature BIT STRING has unused bits");
  const fields = children(der, tbsTlv);
  let i = 0;
  if (fields[0]?.tag === 0xa0) i++; // [0] version
  expectTag(fields[i++], 0x02, "serialNumber");
  const innerAlg = algorithm(der, expectTag(fields[i++], 0x30, "signature"));
  if (innerAlg !== signatureAlg) throw new DerError("signature algorithms differ");
  const issuer = expectTag(fields[i++], 0x30, "issuer");
  const validity = children(der, expectTag(fields[i++], 0x30, "validity"));
  const subject = expectTag(fields[i++], 0x30, "subject");
  const spkiTlv = expectTag(fields[i++], 0x30, "subjectPublicKeyInfo");
  const extensions = new Map();
  for (; i < fields.length; i++) {
    if (fields[i].tag === 0xa3) readExtensions(der, fields[i], extensions);
    else if (fields[i].tag !== 0x81 && fields[i].tag !== 0x82) throw new DerError("unexpected TBSCertificate field");
  }
  if (validity.length !== 2) throw new DerError("validity must hold two times");
  const [keyAlg, curve] = publicKeyAlgorithm(der, spkiTlv);
  return {
    der,
    tbs: der.subarray(tbsTlv.at, tbsTlv.end),
    signatureAlg,
    signature: der.subarray(sigTlv.start + 1, sigTlv.end),
    issuer: der.subarray(issuer.at, issuer.end),
    subject: der.subarray(subject.at, subject.end),
    subjectAttrs: nameAttributes(der, subject),
    notBefore: time(der, validity[0]),
    notAfter: time(der, validity[1]),
    spki: der.subarray(spkiTlv.at, spkiTlv.end),
    keyAlg,
    curve,
    extensions,
  };
}

function algorithm(bytes, tlv) {
  const [id] = children(bytes, tlv);
  return oid(bytes, expectTag(id, 0x06, "algorithm OID"));
}

function publicKeyAlgorithm(bytes, spki) {
  const [alg, key] = children(bytes, spki);
  expectTag(key, 0x03, "subjectPublicKey");
  const [id, param] = children(bytes, expectTag(alg, 0x30, "AlgorithmIdentifier"));
  const keyAlg = oid(bytes, expectTag(id, 0x06, "key algorithm"));
  const curve = param?.tag === 0x06 ? oid(bytes, param) : null;
  return [keyAlg, curve];
}

function nameAttributes(bytes, name) {
  const attrs = new Map();
  for (const rdn of children(bytes, name)) {
    for (const atv of children(bytes, expectTag(rdn, 0x31, "RDN SET"))) {
      const [type, value] = children(bytes, expectTag(atv, 0x30, "AttributeTypeAndValue"));
      const key = oid(bytes, expectTag(type, 0x06, "attribute type"));
      if (!attrs.has(key)) attrs.set(key, []);
      attrs.get(key).push(text(bytes, value));
    }
  }
  return attrs;
}

function readExtensions(bytes, wrapper, out) {
  const [seq] = children(bytes, wrapper);
  for (const ext of children(bytes, expectTag(seq, 0x30, "Extensions"))) {
    const parts = children(bytes, expectTag(ext, 0x30, "Extension"));
    const id = oid(bytes, expectTag(parts[0], 0x06, "extension OID"));
    let critical = false;
    let k = 1;
    if (parts[k]?.tag === 0x01) critical = bytes[parts[k++].start] !== 0;
    const value = expectTag(parts[k], 0x04, "extension value");
    if (out.has(id)) throw new DerError(`duplicate extension ${id}`);
    out.set(id, { critical, value: bytes.subarray(value.start, value.end) });
  }
}

/** BasicConstraints: {ca: boolean} or null when the extension is absent. */
export function basicConstraints(cert) {
  const ext = cert.extensions.get(OID.basicConstraints);
  if (!ext) return null;
  const seq = expectTag(readTlv(ext.value, 0), 0x30, "BasicConstraints");
  const [first] = children(ext.value, seq);
  return { ca: first?.tag === 0x01 && ext.value[first.start] !== 0 };
}

/** The OIDs of the ExtendedKeyUsage extension, or null when absent. */
export function extendedKeyUsage(cert) {
  const ext = cert.extensions.get(OID.extKeyUsage);
  if (!ext) return null;
  const seq = expectTag(readTlv(ext.value, 0), 0x30, "ExtendedKeyUsage");
  return children(ext.value, seq).map((t) => oid(ext.value, expectTag(t, 0x06, "key purpose")));
}

/** The raw content of an ECDSA-Sig-Value (DER SEQUENCE of r, s) as 64-byte r‖s. */
export function ecdsaDerToRaw(sig) {
  const seq = expectTag(readTlv(sig, 0), 0x30, "ECDSA signature");
  if (seq.end !== sig.length) throw new DerError("trailing bytes after the ECDSA signature");
  const ints = children(sig, seq);
  if (ints.length !== 2) throw new DerError("ECDSA signature must hold r and s");
  const out = new Uint8Array(64);
  ints.forEach((t, n) => {
    expectTag(t, 0x02, "INTEGER");
    let v = sig.subarray(t.start, t.end);
    while (v.length > 32 && v[0] === 0) v = v.subarray(1);
    if (v.length > 32) throw new DerError("ECDSA integer too long");
    out.set(v, n * 32 + 32 - v.length);
  });
  return out;
}
