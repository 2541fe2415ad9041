// The kiosk device: its P-256 key, made here with WebCrypto as non-extractable (the private
// key never leaves this browser; only the public key is sent, for a supervisor to enrol), and
// the kiosk id once enrolled. Kept in IndexedDB "risai-kiosk-device": the only thing this
// page stores, and nothing personal.

const DB = "risai-kiosk-device";
const STORE = "device";

function open() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function tx(mode, fn) {
  const db = await open();
  try {
    return await new Promise((resolve, reject) => {
      const t = db.transaction(STORE, mode);
      const req = fn(t.objectStore(STORE));
      t.oncomplete = () => resolve(req && req.result);
      t.onerror = () => reject(t.error);
    });
  } finally {
    db.close();
  }
}

export const load = () => tx("readonly", (s) => s.get("self"));
export const save = (record) => tx("readwrite", (s) => s.put(record, "self"));

function pemOf(spki) {
  const b64 = btoa(String.fromCharCode(...new Uint8Array(spki)));
  return `-----BEGIN PUBLIC KEY-----\n${b64.match(/.{1,64}/g).join("\n")}\n-----END PUBLIC KEY-----\n`;
}

export const hex = (bytes) => [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");

// The device record, made on first start: {key (CryptoKeyPair), public_key_pem, fingerprint}.
export async function ensure() {
  const found = await load();
  if (found) return found;
  const key = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
  const spki = await crypto.subtle.exportKey("spki", key.publicKey);
  const record = { key, public_key_pem: pemOf(spki),
    fingerprint: hex(await crypto.subtle.digest("SHA-256", spki)).slice(0, 16), kiosk_id: null, enrolment: null };
  await save(record);
  return record;
}
