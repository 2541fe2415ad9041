// Signed requests to the node (service/kiosk/signing.py): X-Kiosk-Id, -Timestamp (ms),
// -Nonce (16 random bytes, hex) and -Signature over "METHOD\npath\nts\nnonce\nsha256(body)",
// signed by the device key (WebCrypto gives raw r||s, which the node accepts). The resident's
// session token lives only in this module's memory, never in storage.

import { hex } from "./device.js";

let device = null;
let token = null;
export const setDevice = (d) => { device = d; };
export const setSession = (t) => { token = t; };
export const hasSession = () => token !== null;

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message || `HTTP ${status}`);
    this.status = status;
    this.code = body?.error?.code || "http";
  }
}

async function headers(method, path, bytes) {
  const ts = String(Date.now());
  const nonce = hex(crypto.getRandomValues(new Uint8Array(16)));
  const digest = hex(await crypto.subtle.digest("SHA-256", bytes));
  const message = new TextEncoder().encode([method, path, ts, nonce, digest].join("\n"));
  const sig = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, device.key.privateKey, message);
  const out = { "X-Kiosk-Id": device.kiosk_id, "X-Kiosk-Timestamp": ts, "X-Kiosk-Nonce": nonce,
    "X-Kiosk-Signature": btoa(String.fromCharCode(...new Uint8Array(sig))) };
  if (bytes.length) out["Content-Type"] = "application/json";
  if (token) out["X-Kiosk-Session"] = token;
  return out;
}

// A signed call; JSON back (or a Blob for a PDF). `path` must be exactly what is sent.
export async function call(method, path, body) {
  const bytes = body === undefined ? new Uint8Array() : new TextEncoder().encode(JSON.stringify(body));
  const resp = await fetch(path, { method, headers: await headers(method, path, bytes),
    body: bytes.length ? bytes : undefined, cache: "no-store", credentials: "omit" });
  if (resp.headers.get("Content-Type")?.startsWith("application/pdf") && resp.ok) return resp.blob();
  const data = await resp.json().catch(() => null);
  if (!resp.ok) {
    const err = new ApiError(resp.status, data);
    // The node ended the session (expired, or logged out elsewhere): the page must end it too.
    if (token && err.code === "kiosk.session") window.dispatchEvent(new CustomEvent("kiosk:session-ended"));
    throw err;
  }
  return data;
}

// Unsigned calls (enrolment, before the device has a kiosk id).
export async function plain(method, path, body) {
  const resp = await fetch(path, { method, cache: "no-store", credentials: "omit",
    headers: body ? { "Content-Type": "application/json" } : {}, body: body ? JSON.stringify(body) : undefined });
  const data = await resp.json().catch(() => null);
  if (!resp.ok) throw new ApiError(resp.status, data);
  return data;
}
