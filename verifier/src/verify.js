// Offline verification of a QR string against a verified bundle, check by check as
// certs/verify.py, then one verdict word as status-format.md orders them: format →
// signature / chain / delegation / validity (any failure: 無効) → revocation in the trust
// list or the status list (失効), superseded (差替え), under review (確認中), no usable
// status (確認不能), else 有効. Malformed input never throws: it fails the format check.

import { decodeClaims } from "./claims.js";
import { hex, parseSign1 } from "./cose.js";
import { formatNumber } from "./numbers.js";
import { delegationOf, issuedBy, townCodeOf, withinValidity } from "./pki.js";
import { qrStringToCose } from "./qr.js";
import { UnsupportedAlgorithm, verifyCoseSignature } from "./signatures.js";
import { lookupStatus } from "./status.js";

export const MAX_TRUST_LIST_AGE = 7 * 86400;
export const CLOCK_SKEW = 300;

// Check name → [Japanese, English] label, in the order they are reported (certs/verify.py CHECKS).
export const CHECKS = {
  format: ["形式", "format"],
  signature: ["署名", "signature"],
  chain: ["証明書チェーン", "certificate chain"],
  delegation: ["代行権限", "delegation"],
  validity: ["有効期間", "validity window"],
  revoked: ["失効", "revocation"],
  superseded: ["再発行による置換", "superseded"],
  status: ["状態リスト", "status list"],
  trust_list_age: ["信頼リストの鮮度", "trust list age"],
};
const INTEGRITY = ["format", "signature", "chain", "delegation", "validity"];

export const VERDICTS = {
  VALID: { ja: "有効", en: "VALID" },
  INVALID: { ja: "無効", en: "INVALID" },
  REVOKED: { ja: "失効", en: "REVOKED" },
  SUPERSEDED: { ja: "差替え", en: "SUPERSEDED" },
  UNDER_REVIEW: { ja: "確認中", en: "UNDER REVIEW" },
  STATUS_UNKNOWN: { ja: "確認不能", en: "STATUS UNKNOWN" },
};

class Run {
  constructor(bundle, now) {
    this.bundle = bundle;
    this.trust = bundle.trust;
    this.now = now;
    this.results = new Map();
  }

  // ok: true (pass), false (fail) or null (skipped). The first failure of a check is kept.
  set(name, ok, ja, en) {
    const status = ok === null ? "skipped" : ok ? "pass" : "fail";
    if (this.results.get(name)?.status !== "fail") this.results.set(name, { name, status, ja, en });
    return ok === true;
  }
}

const iso = (epoch) => new Date(epoch * 1000).toISOString().replace(".000Z", "+00:00");

/**
 * Verify `qrText` with a parsed bundle (bundle.js) at `now` (epoch seconds). Returns
 * {verdict: key of VERDICTS, checks: [{name, status, ja, en}], certificate, signedAt,
 * kid, supersededBy, failed: first failed check or null}.
 */
export async function verifyQr(qrText, bundle, now) {
  const run = new Run(bundle, now);
  checkTrustListAge(run);
  const { message, claims } = await decode(run, qrText);
  const cert = claims?.certificate ?? null;
  const signedAt = claims?.signedAt ?? null;
  const delegation = message ? run.trust.delegations.get(hex(message.kid)) ?? null : null;
  if (message) await checkSignature(run, message, delegation);
  if (cert && delegation) {
    await checkChain(run, delegation, signedAt);
    checkDelegation(run, delegation, cert);
    checkValidity(run, delegation, signedAt);
  }
  let status = null;
  if (cert) {
    status = lookupStatus(bundle.lists, cert.number, now, signedAt);
    checkRevoked(run, message.kid, cert, status);
    checkStatus(run, status);
  }
  const checks = Object.keys(CHECKS).map((n) => run.results.get(n) ?? { name: n, status: "skipped", ja: "未確認", en: "not checked" });
  const verdict = run.unsupported ? "STATUS_UNKNOWN" : verdictOf(checks, status);
  return {
    verdict, checks, certificate: cert, signedAt, kid: message ? hex(message.kid) : null,
    supersededBy: verdict === "SUPERSEDED" ? status.supersededBy : null,
    failed: checks.find((c) => c.status === "fail") ?? null,
  };
}

function verdictOf(checks, status) {
  const failed = new Set(checks.filter((c) => c.status === "fail").map((c) => c.name));
  if (INTEGRITY.some((n) => failed.has(n))) return "INVALID";
  if (failed.has("revoked")) return "REVOKED";
  if (status.outcome === "superseded") return "SUPERSEDED";
  if (status.outcome === "under_review") return "UNDER_REVIEW";
  if (status.outcome !== "valid" || failed.size) return "STATUS_UNKNOWN";
  return "VALID";
}

async function decode(run, data) {
  let message;
  try {
    const cose = await qrStringToCose(typeof data === "string" ? data.trim() : data);
    message = parseSign1(cose);
  } catch (exc) {
    run.set("format", false, "QRコードの形式が正しくありません", `not a certificate: ${exc.message}`);
    return { message: null, claims: null };
  }
  let claims;
  try {
    claims = decodeClaims(message.payload);
  } catch (exc) {
    run.set("format", false, "証明書の内容を読み取れません", `unreadable content: ${exc.message}`);
    return { message, claims: null };
  }
  run.set("format", true, `正しい形式（様式 ${claims.version}）`, `well-formed (claims format ${claims.version})`);
  return { message, claims };
}

async function checkSignature(run, message, delegation) {
  if (!delegation) {
    const id = hex(message.kid);
    run.set("signature", false, `鍵ID ${id} は信頼リストにありません（発行元を確認できません）`, `key id ${id} is not in the trust list`);
    run.set("delegation", false, "代行権限の証明書がありません", "no delegation certificate for this key");
    return;
  }
  try {
    const ok = await verifyCoseSignature(delegation, message.alg, message.toBeSigned, message.signature);
    run.set("signature", ok, ok ? "署名は有効" : "署名が一致しません（改ざんの可能性）",
      ok ? `valid ${message.alg} signature` : "signature does not match (altered?)");
  } catch (exc) {
    if (!(exc instanceof UnsupportedAlgorithm)) throw exc;
    run.set("signature", null, "このブラウザはEdDSA署名を確認できません（別の端末で確認してください）", exc.message);
    run.unsupported = true;
  }
}

async function checkChain(run, delegation, signedAt) {
  let townCode;
  try {
    townCode = delegationOf(delegation).townCode;
  } catch (exc) {
    run.set("chain", false, "代行証明書が不正です", exc.message);
    return;
  }
  const town = run.trust.towns.get(townCode);
  if (!town) {
    run.set("chain", false, `町村コード ${townCode} のCAが信頼リストにありません`, `no CA for town ${townCode}`);
    return;
  }
  let problem = (await issuedBy(delegation, town.ca)) ?? (await issuedBy(town.ca, run.trust.root));
  if (!problem) {
    try {
      if (townCodeOf(town.ca) !== townCode) problem = "town CA is for another town";
    } catch (exc) {
      problem = exc.message;
    }
  }
  if (!problem && !withinValidity(town.ca, signedAt)) problem = "town CA was not valid at signing time";
  run.set("chain", problem === null, problem === null ? "ルートCA → 町CA → 代行証明書 は有効" : "証明書チェーンが不正です（発行元の町の証明書と合いません）",
    problem === null ? "root CA → town CA → delegation verified" : problem);
}

function checkDelegation(run, delegation, cert) {
  let grant;
  try {
    grant = delegationOf(delegation);
  } catch (exc) {
    run.set("delegation", false, "代行証明書が不正です", exc.message);
    return;
  }
  const competent = cert.competentTown;
  const node = cert.issuing.nodeId;
  if (grant.townCode !== competent.code) {
    run.set("delegation", false, `この鍵は ${competent.name} の代行を許されていません`,
      `key is delegated by town ${grant.townCode}, not by competent town ${competent.code}`);
  } else if (grant.nodeId !== node) {
    run.set("delegation", false, `この鍵はノード ${node} のものではありません`, `key belongs to node ${grant.nodeId}, not to issuing node ${node}`);
  } else {
    run.set("delegation", true, `${competent.name}長がノード ${node} に発行を委任`, `town ${competent.code} delegated issuing to node ${node}`);
  }
}

function checkValidity(run, delegation, signedAt) {
  if (signedAt > run.now + CLOCK_SKEW) {
    run.set("validity", false, "署名日時が未来です", `signed in the future (${iso(signedAt)})`);
  } else if (!withinValidity(delegation, signedAt)) {
    run.set("validity", false, "署名時に代行証明書の有効期間外でした",
      `signed ${iso(signedAt)} outside delegation validity ${iso(delegation.notBefore)} .. ${iso(delegation.notAfter)}`);
  } else {
    run.set("validity", true, "署名時に代行証明書は有効", `delegation valid at signing time ${iso(signedAt)}`);
  }
}

function checkRevoked(run, kid, cert, status) {
  const key = run.trust.revokedKeys.get(hex(kid));
  const number = run.trust.revokedCertificates.get(formatNumber(cert.number));
  if (key) {
    run.set("revoked", false, `署名鍵は失効しています（${key.reason}）`, `signing key revoked: ${key.reason}`);
  } else if (number) {
    run.set("revoked", false, `この証明書は失効しています（${number.reason}）`, `certificate revoked: ${number.reason}`);
  } else if (status.outcome === "revoked") {
    run.set("revoked", false, "この証明書は失効しています（状態リスト）", "certificate revoked (status list)");
  } else if (status.outcome === "unknown") {
    run.set("revoked", null, "状態リストがないため未確認", `not checked: ${status.reason}`);
  } else {
    run.set("revoked", true, "失効していません", "not revoked");
  }
}

function checkStatus(run, status) {
  if (status.outcome === "superseded") {
    run.set("superseded", false, `整理番号 ${status.supersededBy} に置き換えられています`, `superseded by ${status.supersededBy}`);
  } else if (status.outcome === "unknown" || status.outcome === "revoked") {
    run.set("superseded", null, "未確認", "not checked");
  } else {
    run.set("superseded", true, "最新の証明書です", "current certificate");
  }
  if (status.outcome === "unknown") {
    run.set("status", false, statusUnknownJa(status.reason), status.reason);
  } else if (status.outcome === "under_review") {
    run.set("status", false, "発行元の町が内容を確認中です（二重発行の疑いなど）", "under review by the issuing town");
  } else {
    const hours = ((run.now - status.list.issuedAt) / 3600).toFixed(1);
    run.set("status", true, `状態リスト（${hours}時間前）で確認`, `status list checked, ${hours} h old`);
  }
}

function statusUnknownJa(reason) {
  if (reason.startsWith("no status list")) return "発行したノードの状態リストがありません。最新の信頼データを取得してください";
  if (reason.startsWith("status list expired")) return "状態リストの有効期限が切れています。最新の信頼データを取得してください";
  if (reason.includes("newer than")) return "状態リストより新しい証明書です。最新の信頼データを取得してください";
  if (reason.includes("beyond the end")) return "状態リストにこの証明書がまだ載っていません。最新の信頼データを取得してください";
  return "状態リストを確認できません";
}

function checkTrustListAge(run) {
  const age = run.now - run.trust.issuedAt;
  const hours = age / 3600;
  if (age < -CLOCK_SKEW) {
    run.set("trust_list_age", false, "信頼リストの発行日時が未来です（端末の時計を確認してください）", "trust list is dated in the future");
  } else if (age > MAX_TRUST_LIST_AGE) {
    run.set("trust_list_age", false, `信頼リストが古すぎます（${hours.toFixed(0)}時間前）。最新の信頼データを取得してください`,
      `trust list is ${hours.toFixed(0)} h old (max ${MAX_TRUST_LIST_AGE / 3600} h); fetch a new one`);
  } else {
    run.set("trust_list_age", true, `信頼リスト v${run.trust.version}（${hours.toFixed(1)}時間前）`,
      `trust list v${run.trust.version}, ${hours.toFixed(1)} h old`);
  }
}
