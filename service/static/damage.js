// Damage classes (DESIGN 3). The node derives the class; this copy of the thresholds
// only previews it while the surveyor types, and is labelled as a preview.

export const CLASSES = {
  "zenkai": ["全壊", "Total collapse"],
  "daikibo-hankai": ["大規模半壊", "Large-scale half collapse"],
  "chukibo-hankai": ["中規模半壊", "Medium-scale half collapse"],
  "hankai": ["半壊", "Half collapse"],
  "jun-hankai": ["準半壊", "Near half collapse"],
  "ichibu-sonkai": ["準半壊に至らない（一部損壊）", "Less than near half collapse (partial damage)"],
};

export function fromRatio(ratio) {
  const r = Number(ratio);
  if (!Number.isFinite(r) || r < 0 || r > 100) return null;
  if (r >= 50) return "zenkai";
  if (r >= 40) return "daikibo-hankai";
  if (r >= 30) return "chukibo-hankai";
  if (r >= 20) return "hankai";
  if (r >= 10) return "jun-hankai";
  return "ichibu-sonkai";
}

export function fromFloodDepth(metres) {
  const m = Number(metres);
  if (!Number.isFinite(m) || m < 0) return null;
  if (m >= 1.8) return "zenkai";
  if (m >= 1) return "daikibo-hankai";
  if (m >= 0.5) return "chukibo-hankai";
  return "hankai";
}

export const STATUS = {
  received: ["受付", "Received"],
  surveyed: ["調査済", "Surveyed"],
  judged: ["判定済", "Judged"],
  issued: ["交付済", "Issued"],
  resurvey_requested: ["再調査依頼", "Re-survey requested"],
  resurveyed: ["再調査済", "Re-surveyed"],
  rejudged: ["再判定済", "Re-judged"],
  reissued: ["再交付済", "Reissued"],
  withdrawn: ["取下げ", "Withdrawn"],
};

export const REPLICATION = {
  acknowledged: ["複製済み", "replicated", "ok"],
  pending: ["複製待ち", "pending", "warn"],
  "local-only": ["ローカルのみ", "local only", "warn"],
  "not configured": ["複製未設定", "not configured", "warn"],
};
