// The offline verifier app: scan (camera or image file) → ZXing or jsQR → verifyQr → the verdict in
// one big word. Trust comes from the root pinned into the page (a <meta> the serving node
// or the download fills in) and a verifier bundle kept in localStorage; nothing else is
// fetched except when the user asks for fresh trust data.

import { BundleError, parseBundle } from "../bundle.js";
import { hex } from "../cose.js";
import { formatNumber } from "../numbers.js";
import { sha256 } from "../signatures.js";
import { CHECKS, VERDICTS, verifyQr } from "../verify.js";
import { ageText, jstTime, warekiDate } from "../wareki.js";
import { $, bi, clear, h } from "./dom.js";
import { attempts, decodeRgba } from "./qrimage.js";

const STORE_KEY = "risai-verifier-bundle";
const state = { root: null, bundle: null, bundleBytes: null, lastQr: null, camera: null };

const b64decode = (text) => Uint8Array.from(atob(text.trim()), (c) => c.charCodeAt(0));
function b64encode(bytes) {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}
const nowSeconds = () => Math.floor(Date.now() / 1000);

async function init() {
  const meta = document.querySelector('meta[name="risai-root"]');
  if (!meta || !/^[A-Za-z0-9+/]+=*$/.test(meta.content)) { // absent, or the unfilled build placeholder
    showMessage("error", "この検証アプリには信頼の起点（ルート証明書）が入っていません。発行ノードから取得し直してください",
      "This verifier has no pinned root certificate; get it again from a node.");
    return;
  }
  state.root = b64decode(meta.content);
  const fingerprint = hex(await sha256(state.root)).toUpperCase().match(/.{4}/g).join(" ");
  $("#root-fingerprint").textContent = fingerprint;
  $("#node-url").value = location.protocol.startsWith("http") ? location.origin : "";
  await loadStoredBundle();
  wire();
  if (location.protocol.startsWith("http") && "serviceWorker" in navigator) {
    navigator.serviceWorker.register("sw.js", { scope: "./" }).catch(() => { /* works without it, online only */ });
  }
  document.body.dataset.ready = "1";
}

// The newest usable bundle of: localStorage, the one embedded in the page.
async function loadStoredBundle() {
  const candidates = [];
  const stored = localStorage.getItem(STORE_KEY);
  if (stored) candidates.push(["stored", stored]);
  const embedded = document.getElementById("risai-bundle");
  if (embedded && embedded.textContent.trim()) candidates.push(["embedded", embedded.textContent]);
  for (const [source, text] of candidates) {
    try {
      const bytes = b64decode(text);
      const bundle = await parseBundle(bytes, state.root);
      if (!state.bundle || bundle.createdAt > state.bundle.createdAt) Object.assign(state, { bundle, bundleBytes: bytes });
    } catch (exc) {
      if (source === "stored") localStorage.removeItem(STORE_KEY);
    }
  }
  renderTrust();
}

async function acceptBundle(bytes, origin) {
  let bundle;
  try {
    bundle = await parseBundle(bytes, state.root);
  } catch (exc) {
    const anchor = exc instanceof BundleError && exc.code === "bundle.anchor";
    showMessage("error",
      anchor ? "この信頼データは別の連合（別のルート証明書）のものです。受け付けません" : "信頼データを検証できません。受け付けません",
      `${origin}: bundle refused (${exc.message})`);
    return false;
  }
  Object.assign(state, { bundle, bundleBytes: bytes });
  try {
    localStorage.setItem(STORE_KEY, b64encode(bytes));
  } catch { /* storage full or disabled: still usable for this session */ }
  renderTrust();
  if (state.lastQr) await verifyText(state.lastQr); // the shown verdict follows the new data
  showMessage("ok", "信頼データを更新しました", `trust data updated (${origin})`);
  return true;
}

async function refreshFromNode() {
  const base = $("#node-url").value.trim().replace(/\/+$/, "");
  if (!base) {
    showMessage("error", "ノードのURLを入力してください", "enter a node URL");
    return;
  }
  let bytes;
  try {
    const response = await fetch(`${base}/api/v1/verifier-bundle`, { cache: "no-store" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    bytes = new Uint8Array(await response.arrayBuffer());
  } catch (exc) {
    showMessage("error", "ノードに接続できません（オフライン？）。保存済みの信頼データで検証を続けます",
      `cannot reach ${base} (${exc.message}); the saved trust data stays in use`);
    return;
  }
  await acceptBundle(bytes, base);
}

function wire() {
  $("#image-input").addEventListener("change", async (event) => {
    const file = event.target.files[0];
    if (file) await verifyImage(file);
    event.target.value = "";
  });
  $("#bundle-input").addEventListener("change", async (event) => {
    const file = event.target.files[0];
    if (file) await acceptBundle(new Uint8Array(await file.arrayBuffer()), file.name);
    event.target.value = "";
  });
  $("#text-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    await verifyText($("#qr-text").value);
  });
  $("#refresh").addEventListener("click", refreshFromNode);
  $("#camera").addEventListener("click", () => (state.camera ? stopCamera() : startCamera()));
}

// --- reading the QR ------------------------------------------------------------------

async function verifyImage(file) {
  const started = performance.now();
  let text = null;
  try {
    const bitmap = await createImageBitmap(file);
    text = findQr(bitmap);
    bitmap.close();
  } catch {
    text = null;
  }
  if (text === null) {
    showMessage("error", "画像からQRコードを読み取れません。明るい場所で、QRコード全体が写るように撮り直してください",
      "no QR code found in the image; retake it with the whole QR code in view");
    return;
  }
  await verifyText(text, started, performance.now() - started);
}

// Attempts by image size (qrimage.js): fast ZXing, ZXing trying harder, jsQR, a smaller copy.
function findQr(source) {
  const longest = Math.max(source.width, source.height);
  for (const [mode, limit] of attempts(source.width, source.height)) {
    const scale = Math.min(1, limit / longest);
    const found = decodeFrame(source, Math.round(source.width * scale), Math.round(source.height * scale), mode);
    if (found) return found;
  }
  return null;
}

function decodeFrame(source, width, height, mode = "fast") {
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.drawImage(source, 0, 0, width, height);
  return decodeRgba(ctx.getImageData(0, 0, width, height).data, width, height, mode);
}

async function startCamera() {
  const video = $("#video");
  try {
    state.camera = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
  } catch (exc) {
    showMessage("error", "カメラを使えません。画像ファイルを選んでください", `camera unavailable (${exc.message}); choose an image file`);
    return;
  }
  video.srcObject = state.camera;
  video.hidden = false;
  await video.play();
  $("#camera").replaceChildren(bi("カメラを止める", "Stop camera"));
  let frame = 0;
  const tick = async () => {
    if (!state.camera) return;
    if (video.readyState >= 2) {
      frame += 1;
      const text = decodeFrame(video, video.videoWidth, video.videoHeight, frame % 5 ? "fast" : "harder");
      if (text) {
        stopCamera();
        await verifyText(text, performance.now());
        return;
      }
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}

function stopCamera() {
  state.camera?.getTracks().forEach((t) => t.stop());
  state.camera = null;
  $("#video").hidden = true;
  $("#camera").replaceChildren(bi("カメラで読み取る", "Scan with camera"));
}

// --- verdict -------------------------------------------------------------------------

// `started`: when the image arrived; `readMs`: how long finding the QR in it took.
async function verifyText(text, started = performance.now(), readMs = 0) {
  state.lastQr = text.trim();
  if (!state.bundle) {
    renderNoTrust();
    return;
  }
  const before = performance.now();
  const result = await verifyQr(state.lastQr, state.bundle, nowSeconds());
  const verifyMs = performance.now() - before;
  renderVerdict(result);
  const ms = performance.now() - started;
  const timing = $("#timing");
  Object.assign(timing.dataset, { ms: ms.toFixed(1), readMs: readMs.toFixed(1), verifyMs: verifyMs.toFixed(1) });
  timing.textContent = `処理時間 ${ms.toFixed(0)} ms（読み取り ${readMs.toFixed(0)} ms・検証 ${verifyMs.toFixed(0)} ms）`;
}

function renderNoTrust() {
  const box = clear($("#verdict"));
  box.className = "verdict verdict-STATUS_UNKNOWN";
  box.dataset.verdict = "STATUS_UNKNOWN";
  box.append(h("div", { class: "word" }, h("span", { class: "word-ja" }, "確認不能"), h("span", { class: "word-en" }, "STATUS UNKNOWN")),
    h("p", { class: "reason" }, bi("信頼データがありません。ノードから取得するか、信頼データファイルを読み込んでください",
      "no trust data: refresh from a node or load a bundle file")));
  box.hidden = false;
}

function renderVerdict(result) {
  const word = VERDICTS[result.verdict];
  const box = clear($("#verdict"));
  box.className = `verdict verdict-${result.verdict}`;
  box.dataset.verdict = result.verdict;
  box.append(h("div", { class: "word", role: "status" }, h("span", { class: "word-ja", lang: "ja" }, word.ja),
    h("span", { class: "word-en", lang: "en" }, word.en)));
  box.append(h("p", { class: "reason" }, reasonOf(result)));
  if (result.verdict === "VALID") box.append(contentTable(result.certificate, result.signedAt));
  else if (result.certificate) box.append(h("p", { class: "number" }, bi("整理番号", "No."), " ", formatNumber(result.certificate.number)));
  box.append(checkList(result.checks));
  box.hidden = false;
  clear($("#message"));
}

function reasonOf(result) {
  const check = result.failed;
  if (result.verdict === "VALID") return bi("署名・発行元・代行権限・失効の確認がすべて済みました", "signature, issuer, delegation and status all check out");
  if (result.verdict === "SUPERSEDED") {
    return bi(`再調査により新しい証明書（整理番号 ${result.supersededBy}）に差し替えられています。新しい証明書の提示を求めてください`,
      `replaced by a newer certificate (${result.supersededBy}) after a re-survey; ask for the new one`);
  }
  if (!check) {
    const skipped = result.checks.find((c) => c.name === "signature" && c.status === "skipped");
    return skipped ? bi(skipped.ja, skipped.en) : bi("確認できませんでした", "could not be checked");
  }
  const [ja, en] = CHECKS[check.name];
  return h("span", {}, h("strong", {}, bi(`確認できなかった項目：${ja}`, `failed check: ${en}`)), h("br"), bi(check.ja, check.en));
}

function row(ja, en, value) {
  return h("tr", {}, h("th", { scope: "row" }, bi(ja, en)), h("td", {}, value));
}

function contentTable(cert, signedAt) {
  const behalf = cert.issuing.townCode !== cert.competentTown.code;
  const place = `${cert.issuing.townName}${behalf ? "（代行）" : ""}${cert.issuing.place ? ` ${cert.issuing.place}` : ""}`;
  const damage = [cert.damageClass, cert.flooding].filter(Boolean).join("・") || "—";
  return h("table", { class: "content" }, h("tbody", {},
    row("証明書", "certificate", cert.type),
    row("整理番号", "number", formatNumber(cert.number)),
    row("発行者", "issued by", `${cert.competentTown.name}長 ${cert.competentTown.mayor}`),
    row("交付場所", "issuing place", behalf ? bi(place, `issued on behalf of ${cert.competentTown.name}`) : place),
    row("住家の被害の程度", "damage class", damage),
    row("罹災原因", "disaster", `${cert.disaster.name}（${warekiDate(cert.disaster.date)}）`),
    row("被災住家の所在地", "dwelling", cert.dwellingAddress),
    row("世帯主住所", "householder address", cert.householderAddress ?? bi("証明書面に記載", "on the printed form")),
    row("世帯主氏名", "householder", cert.householderName),
    row("交付日", "issue date", warekiDate(cert.issueDate)),
    row("署名日時", "signed at", jstTime(signedAt)),
  ));
}

function checkList(checks) {
  const icon = { pass: "✓", fail: "✗", skipped: "–" };
  return h("details", { class: "checks" }, h("summary", {}, bi("確認の詳細", "details of each check")),
    h("ul", {}, checks.map((c) => h("li", { class: `check-${c.status}`, "data-check": c.name },
      h("span", { class: "icon", "aria-hidden": "true" }, icon[c.status]), " ",
      h("strong", {}, bi(...CHECKS[c.name])), " ", bi(c.ja, c.en)))));
}

// --- trust data ----------------------------------------------------------------------

function renderTrust() {
  const box = clear($("#trust-status"));
  const b = state.bundle;
  if (!b) {
    box.append(h("p", { class: "warn" }, bi("信頼データがありません。ノードから取得するか、ファイルを読み込んでください",
      "no trust data yet: refresh from a node or load a bundle file")));
    return;
  }
  const now = nowSeconds();
  const age = (t) => bi(...ageText(now - t));
  const rows = [
    row("信頼リスト", "trust list", h("span", {}, `v${b.trust.version}・${b.trust.federation}・${jstTime(b.trust.issuedAt)} `, age(b.trust.issuedAt))),
  ];
  for (const [node, list] of [...b.lists].sort()) {
    const expired = now > list.expiresAt;
    rows.push(row("状態リスト", `status list ${node}`, h("span", { class: expired ? "expired" : "" },
      `${node}・${jstTime(list.issuedAt)} `, age(list.issuedAt), " ",
      expired ? bi("期限切れ", "expired") : bi(`期限 ${jstTime(list.expiresAt)}`, "expires"))));
  }
  if (!b.lists.size) rows.push(row("状態リスト", "status lists", bi("なし（すべて確認不能になります）", "none: every status is unknown")));
  box.append(h("table", { class: "trust" }, h("tbody", {}, rows)));
}

function showMessage(kind, ja, en) {
  const box = clear($("#message"));
  box.className = `message message-${kind}`;
  box.append(bi(ja, en));
}

init();
