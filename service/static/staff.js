// Admin screen: the staff accounts of the admin's town (GET/POST /api/v1/staff,
// POST /api/v1/staff/{id}, POST /api/v1/staff/{id}/password). Disabling an account or
// resetting its password ends its sessions on every node; each step is confirmed first.

import * as api from "./api.js";
import { formatJst } from "./dates.js";
import { bi, clearErrors, confirmAction, field, formError, h, input, showError, values } from "./dom.js";
import { LABELS, label } from "./messages.js";

const ROLES = Object.keys(LABELS.role);
const reload = () => window.dispatchEvent(new HashChangeEvent("hashchange"));

export async function staffView() {
  const data = await api.get("/api/v1/staff");
  return h("div", { id: "staff-admin" },
    h("section", { class: "card" }, h("h2", {}, bi("職員アカウント", "Staff accounts")),
      h("p", { class: "muted" }, bi(
        `${data.staff.length} 件（この市町村の職員のみ管理できます）。停止とパスワード再設定は、全ノードでその職員のログインを終了させます。`,
        `${data.staff.length} accounts (only your town's). Disabling or resetting a password ends that member's sessions on every node.`)),
      h("table", { class: "list staff-list" },
        h("thead", {}, h("tr", {}, ["ユーザー名/Username", "表示名/Name", "役割/Roles", "状態/Status", "最終変更/Last changed", "操作/Actions"]
          .map((t) => h("th", {}, bi(...t.split("/")))))),
        h("tbody", {}, data.staff.map(accountRow)))),
    createForm());
}

function rolesText(roles) { return roles.map((r) => label("role", r)[0]).join("・"); }

function roleBoxes(selected) {
  return h("fieldset", { class: "roles", dataset: { field: "roles" } },
    h("legend", {}, bi("役割", "Roles")),
    ROLES.map((r) => h("label", { class: "check" },
      h("input", { type: "checkbox", name: "role", value: r, checked: selected.includes(r) }), " ", bi(...label("role", r)))),
    h("div", { class: "field-error", role: "alert" }));
}

const checkedRoles = (form) => [...form.querySelectorAll("input[name=role]:checked")].map((c) => c.value);

function accountRow(s) {
  const self = api.session.staff && s.staff_id === api.session.staff.staff_id;
  const status = s.disabled ? h("span", { class: "pill bad" }, bi("停止中", "disabled")) : h("span", { class: "pill ok" }, bi("有効", "active"));
  const actions = h("td", { class: "actions" });
  const row = h("tr", { dataset: { username: s.username }, class: s.disabled ? "disabled" : "" },
    h("td", {}, h("code", {}, s.username), self ? h("small", { class: "muted" }, " (あなた / you)") : null),
    h("td", {}, s.display_name), h("td", { class: "roles-cell" }, rolesText(s.roles)), h("td", {}, status),
    h("td", {}, s.changed_at ? formatJst(s.changed_at) : "—"), actions);
  actions.append(rolesForm(s, self), passwordForm(s), disableButton(s, self));
  return row;
}

function rolesForm(s, self) {
  const form = h("form", { class: "inline-form roles-form", novalidate: true }, roleBoxes(s.roles), formError(),
    h("button", { type: "submit" }, bi("役割を保存", "Save roles")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    const roles = checkedRoles(form);
    const ok = await confirmAction({
      title: ["役割を変更しますか", "Change the roles?"],
      facts: [["職員", "Staff", `${s.display_name}（${s.username}）`], ["変更前", "Before", rolesText(s.roles)], ["変更後", "After", rolesText(roles) || "—"]],
      effect: ["数秒以内に全ノードで新しい役割が有効になります。", "The new roles take effect on every node within seconds."],
      ok: ["変更する", "Change"],
    });
    if (!ok) return;
    try { await api.post(`/api/v1/staff/${s.staff_id}`, { roles }); reload(); } catch (e) { showError(form, e); }
  });
  if (self) form.querySelector("input[value=admin]").disabled = true; // no self-lockout
  return form;
}

function passwordForm(s) {
  const form = h("form", { class: "inline-form password-form", novalidate: true },
    field("password", "新しいパスワード", "New password", input({ type: "password", autocomplete: "new-password", minlength: 10 }), "10文字以上 / at least 10 characters"),
    formError(), h("button", { type: "submit" }, bi("パスワード再設定", "Reset password")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    const password = form.elements.password.value;
    const ok = await confirmAction({
      title: ["パスワードを再設定しますか", "Reset the password?"],
      facts: [["職員", "Staff", `${s.display_name}（${s.username}）`]],
      effect: ["この職員のログインは全ノードで終了し、新しいパスワードでのみログインできます。新しいパスワードは本人に直接伝えてください。",
        "The member's sessions end on every node; only the new password works. Hand it over in person."],
      ok: ["再設定する", "Reset"], danger: true,
    });
    if (!ok) return;
    try { await api.post(`/api/v1/staff/${s.staff_id}/password`, { password }); reload(); } catch (e) { showError(form, e); }
  });
  return form;
}

function disableButton(s, self) {
  const box = h("div", { class: "inline-form disable-form" }, formError());
  const [ja, en] = s.disabled ? ["利用を再開", "Enable"] : ["利用を停止", "Disable"];
  const btn = h("button", { type: "button", class: s.disabled ? "" : "danger", disabled: self && !s.disabled }, bi(ja, en));
  btn.addEventListener("click", async () => {
    const ok = await confirmAction({
      title: s.disabled ? ["利用を再開しますか", "Enable this account?"] : ["利用を停止しますか", "Disable this account?"],
      facts: [["職員", "Staff", `${s.display_name}（${s.username}）`], ["役割", "Roles", rolesText(s.roles)]],
      effect: s.disabled ? ["この職員は再びログインできるようになります。", "The member can log in again."]
        : ["この職員のログインは全ノードで直ちに終了し、再開するまでログインできません。記録は残ります。",
          "The member's sessions end at once on every node and no login works until re-enabled. Records stay."],
      ok: [ja, en], danger: !s.disabled,
    });
    if (!ok) return;
    try { await api.post(`/api/v1/staff/${s.staff_id}`, { disabled: !s.disabled }); reload(); } catch (e) { showError(box, e); }
  });
  box.prepend(btn);
  return box;
}

function createForm() {
  const form = h("form", { class: "card", id: "staff-create", novalidate: true },
    h("h3", {}, bi("職員を追加", "Add a member of staff")),
    field("username", "ユーザー名", "Username", input({ autocomplete: "off", maxlength: 64 }), "半角英数字 . _ - / a-z 0-9 . _ -"),
    field("display_name", "表示名", "Display name", input({ maxlength: 100 })),
    roleBoxes(["clerk"]),
    field("password", "初期パスワード", "Initial password", input({ type: "password", autocomplete: "new-password", minlength: 10 }), "10文字以上 / at least 10 characters"),
    formError(), h("button", { type: "submit", class: "primary" }, bi("追加する", "Add")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    const v = values(form);
    const body = { username: v.username, roles: checkedRoles(form), password: form.elements.password.value };
    if (v.display_name) body.display_name = v.display_name;
    try { await api.post("/api/v1/staff", body); reload(); } catch (e) { showError(form, e); }
  });
  return form;
}
