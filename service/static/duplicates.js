// One current 罹災証明書 per (household, dwelling, disaster) at the counter (issue 11):
// the disaster picker over the registry, the 409 application.duplicate notice with links
// to the existing case (再交付 / 再調査), and the 審査中 / under review mark of a
// certificate that is one of a duplicate accepted during a partition.

import * as api from "./api.js";
import { dateLabel } from "./dates.js";
import { bi, button, clear, field, h, input, select } from "./dom.js";
import { errorMessage } from "./messages.js";

// The registry's disasters as a <select name="disaster_id">, newest first; the last one
// used at this counter is preselected. Older free-text applications keep their
// {name, date} and are shown as they are (the application view reads a.disaster).
// A supervisor can register a disaster here (for ``town`` by default); the picker reloads.
export async function disasterPicker(town) {
  const box = h("div", { class: "disaster-picker-box" });
  await fillPicker(box, town);
  return box;
}

async function fillPicker(box, town, chosen) {
  const { disasters } = await api.get("/api/v1/disasters");
  const remembered = chosen || localStorage.getItem("risai.disaster_id") || "";
  const options = disasters.map((d) => [d.disaster_id, `${d.name}（${dateLabel(d.date)}）`]);
  let choice;
  if (!options.length) {
    choice = h("p", { class: "notice warn", id: "no-disasters" },
      bi("災害が登録されていません。監督者が災害を登録してから受け付けます。",
        "No disaster is registered yet: a supervisor registers it first."));
  } else {
    const picker = select(options, { id: "disaster-picker" });
    if (options.some(([id]) => id === remembered)) picker.value = remembered;
    choice = field("disaster_id", "災害", "Disaster", picker);
  }
  clear(box).append(choice, api.hasRole("supervisor") ? registration(box, town) : "");
}

// Inside the application form, so no <form> of its own: inputs and a button.
function registration(box, town) {
  const name = input({ name: "new_disaster_name", maxlength: 100, placeholder: "令和6年能登半島地震" });
  const date = input({ name: "new_disaster_date", type: "date" });
  const towns = input({ name: "new_disaster_towns", value: town || "", placeholder: "434434, 172049" });
  const flag = (n, ja, en) => h("label", { class: "check" }, h("input", { type: "checkbox", name: n }), " ", bi(ja, en));
  const kyujo = flag("new_disaster_kyujo", "災害救助法", "Disaster Relief Act");
  const shien = flag("new_disaster_shien", "被災者生活再建支援法", "Livelihood Recovery Support Act");
  // Not a .form-error: the application form around it shows its own errors there.
  const errors = h("div", { class: "register-error notice warn", role: "alert", hidden: true });
  const go = button("登録する", "Register", { id: "register-disaster", onclick: async () => {
    try {
      const { disaster } = await api.post("/api/v1/disasters", {
        name: name.value.trim(), date: date.value, towns: towns.value.split(/[\s,、]+/).filter(Boolean),
        saigai_kyujo_ho: kyujo.querySelector("input").checked, shien_ho: shien.querySelector("input").checked });
      await fillPicker(box, town, disaster.disaster_id);
    } catch (e) {
      const [ja, en] = errorMessage(e.code, e.message);
      errors.hidden = false;
      clear(errors).append(h("code", {}, e.code || ""), " ", bi(ja, en),
        ...(e.fields || []).map((f) => h("div", {}, h("code", {}, f.field), "：", f.reason)));
    }
  } });
  return h("details", { class: "register-disaster" }, h("summary", {}, bi("災害を登録（監督者）", "Register a disaster (supervisor)")),
    field("new_disaster_name", "災害名", "Name", name), field("new_disaster_date", "発生日", "Date", date),
    field("new_disaster_towns", "被災市町村コード", "Town codes", towns), kyujo, shien, errors, go);
}

export function rememberDisaster(id) { localStorage.setItem("risai.disaster_id", id); }

// The refusal names the existing application and its certificate: the clerk continues
// there (再交付 of a copy, or 再調査) instead of opening a second case.
export function duplicateNotice(err) {
  const f = (err.fields || []).find((x) => x.code === "application.duplicate");
  if (!f) return null;
  const links = [h("a", { href: `#/application/${encodeURIComponent(f.application_id)}`, id: "duplicate-application" },
    bi("既存の申請を開く", "Open the existing application"), " ", h("code", {}, f.application_id))];
  if (f.certificate) {
    links.push(h("a", { href: `#/certificate/${encodeURIComponent(f.certificate)}`, id: "duplicate-certificate" },
      bi("証明書（再交付）", "Certificate (reissue a copy)"), " ", h("code", {}, f.certificate)));
    links.push(h("a", { href: `#/application/${encodeURIComponent(f.application_id)}`, id: "duplicate-resurvey" },
      bi("再調査を依頼する", "Request a re-survey")));
  }
  return h("div", { class: "notice warn duplicate", id: "duplicate-notice", role: "alert" },
    h("strong", {}, bi("この世帯・住家・災害の申請は受付済みです", "This household already applied for this dwelling and disaster")),
    h("div", {}, bi("新しい申請ではなく、既存の申請で再交付または再調査を行ってください。",
      "Do not open a second case: reissue a copy or request a re-survey on the existing one.")),
    h("div", { class: "actions" }, links));
}

// 審査中: two nodes accepted the same triple during a partition; a supervisor revokes one.
export function underReviewNote(status) {
  const review = status && status.under_review;
  if (!review) return null;
  const others = review.certificates.filter(Boolean);
  return h("div", { class: "notice warn under-review", id: "under-review" },
    h("strong", {}, bi("審査中（二重交付の疑い）", "Under review (possible duplicate)")),
    h("div", {}, bi("同じ世帯・住家・災害に現行の証明書が複数あります。監督者が一方を失効させるまで、検証では「確認中」と表示されます。",
      "Several current certificates exist for one household, dwelling and disaster; verification says under review until a supervisor revokes all but one.")),
    h("div", { class: "actions" }, others.map((n) => h("a", { href: `#/certificate/${encodeURIComponent(n)}` }, h("code", {}, n)))));
}
