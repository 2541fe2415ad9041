// The card bridge on this kiosk's loopback (card_bridge/, docs/kiosk.md): it reads the card
// and signs the node's challenge with it. The PIN goes to the bridge only, never to the node.

const DEFAULT = "http://127.0.0.1:47110";

export function bridgeUrl() {
  const given = new URLSearchParams(location.search).get("bridge");
  return given && /^http:\/\/(127\.0\.0\.1|localhost):\d+$/.test(given) ? given : DEFAULT;
}

async function ask(method, path, body) {
  const resp = await fetch(bridgeUrl() + path, { method, cache: "no-store", credentials: "omit",
    headers: body ? { "Content-Type": "application/json" } : {}, body: body ? JSON.stringify(body) : undefined });
  const data = await resp.json().catch(() => ({}));
  if (!resp.ok) {
    const err = new Error(data?.error?.message || `bridge HTTP ${resp.status}`);
    err.code = data?.error?.code || "bridge.http";
    err.triesLeft = data?.error?.tries_left;
    throw err;
  }
  return data;
}

export const status = () => ask("GET", "/v1/status");
export const sign = (challenge, pin) => ask("POST", "/v1/sign", { challenge, pin });

// Print a PDF on the kiosk's printer through the bridge (the page keeps no copy of it).
export async function print(pdf) {
  const resp = await fetch(bridgeUrl() + "/v1/print", { method: "POST", cache: "no-store", credentials: "omit",
    headers: { "Content-Type": "application/pdf" }, body: pdf });
  const data = await resp.json().catch(() => ({}));
  if (!resp.ok) {
    const err = new Error(data?.error?.message || `printer HTTP ${resp.status}`);
    err.code = data?.error?.code || "bridge.print";
    throw err;
  }
  return data;
}
