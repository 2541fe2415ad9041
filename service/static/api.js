// The JSON API client: session cookie + CSRF token, the access reason for another
// town's data (X-Access-Reason, percent-encoded UTF-8), and structured errors.

export const session = { staff: null, csrf: null };

// The stated reason for the case at hand (another town's resident). It is kept for the
// tab only (sessionStorage), cleared on logout and on "新しい受付 / New case".
let accessReason = sessionStorage.getItem("risai.reason") || "";
let askReason = async () => null; // set by the app: shows the reason dialog

export function setReasonPrompt(fn) { askReason = fn; }
export const askForReason = (message) => askReason(message);
export function currentReason() { return accessReason; }
export function setReason(text) {
  accessReason = (text || "").trim();
  if (accessReason) sessionStorage.setItem("risai.reason", accessReason);
  else sessionStorage.removeItem("risai.reason");
}

export class ApiError extends Error {
  constructor(status, body) {
    const err = (body && body.error) || {};
    super(err.message || `HTTP ${status}`);
    this.status = status;
    this.code = err.code || "http_error";
    this.fields = err.fields || [];
  }
}

function headersFor(method, extra) {
  const headers = { Accept: "application/json", ...extra };
  if (method !== "GET" && method !== "HEAD" && session.csrf) headers["X-CSRF-Token"] = session.csrf;
  if (accessReason) headers["X-Access-Reason"] = encodeURIComponent(accessReason);
  return headers;
}

async function send(method, path, body, options) {
  const extra = {};
  let payload;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) { extra["Content-Type"] = "application/json"; payload = JSON.stringify(body); }
  return fetch(path, { method, body: payload, credentials: "same-origin",
                       headers: headersFor(method, { ...extra, ...(options.headers || {}) }) });
}

async function parse(resp) {
  const type = resp.headers.get("Content-Type") || "";
  if (type.includes("application/json")) return resp.json();
  return resp.blob();
}

// One request; when the node asks for a reason (another town's data), ask the member of
// staff once and retry with it.
export async function request(method, path, body, options = {}) {
  let resp = await send(method, path, body, options);
  let data = await parse(resp);
  if (resp.status === 422 && data.error && data.error.code === "audit.reason_required") {
    const reason = await askReason(data.error.message);
    if (reason) {
      setReason(reason);
      resp = await send(method, path, body, options);
      data = await parse(resp);
    }
  }
  if (resp.status === 401 && data.error && data.error.code === "auth.required") {
    session.staff = null; session.csrf = null;
    window.dispatchEvent(new CustomEvent("risai:logged-out"));
  }
  if (!resp.ok) throw new ApiError(resp.status, data);
  return data;
}

export const get = (path, options) => request("GET", path, undefined, options);
export const post = (path, body, options) => request("POST", path, body === undefined ? {} : body, options);

export function query(path, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && `${v}`.trim() !== "") q.set(k, `${v}`.trim());
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

export async function login(town_code, username, password) {
  const data = await request("POST", "/api/v1/auth/login", { town_code, username, password });
  session.staff = data.staff; session.csrf = data.csrf_token;
  return data.staff;
}

export async function restore() {
  try {
    const data = await get("/api/v1/auth/me");
    session.staff = data.staff; session.csrf = data.csrf_token;
  } catch (e) {
    session.staff = null; session.csrf = null;
  }
  return session.staff;
}

export async function logout() {
  try { await post("/api/v1/auth/logout"); } catch (e) { /* the session may be gone already */ }
  session.staff = null; session.csrf = null;
  setReason("");
}

export const hasRole = (...roles) => !!session.staff && roles.some((r) => session.staff.roles.includes(r));
