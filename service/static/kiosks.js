// Kiosk enrolment (issue 13), for supervisors: a kiosk made its own key in its browser and
// shows a pairing code and its key's fingerprint; the supervisor types the code, checks
// that the fingerprint shown here is the one on the kiosk, and names the kiosk and its
// evacuation centre. Only the kiosk's public key is ever registered (service/kiosk/enrolment.py).

import * as api from "./api.js";
import { bi, clearErrors, confirmAction, field, formError, h, input, showError, values } from "./dom.js";

export async function kiosksView() {
  const result = h("div", { id: "kiosk-enrolled" });
  const form = h("form", { class: "card narrow", id: "kiosk-enrol-form", novalidate: true },
    h("h2", {}, bi("キオスク端末の登録", "Enrol a kiosk")),
    h("p", { class: "muted" }, bi("キオスクの画面に表示された登録コードを入力してください。端末の鍵はキオスクのブラウザーの中で作られ、ここには公開鍵だけが届きます。",
      "Type the enrolment code shown on the kiosk. The kiosk's key was made in its browser; only the public key reaches the node.")),
    field("pairing_code", "登録コード", "Enrolment code", input({ autocomplete: "off", maxlength: 12, required: true }), "例 / e.g. ABCD-EFGH"),
    field("kiosk_id", "端末ID", "Kiosk id", input({ maxlength: 64, required: true, pattern: "[A-Za-z0-9._-]+" }), "英数字 . _ - / letters, digits"),
    field("name", "端末名", "Kiosk name", input({ maxlength: 100, required: true })),
    field("centre", "避難所", "Evacuation centre", input({ maxlength: 100, required: true })),
    formError(),
    h("button", { type: "submit", class: "primary" }, bi("登録する", "Enrol")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    const v = values(form);
    try {
      const waiting = await api.post("/api/v1/kiosk-enrolments/preview", { pairing_code: v.pairing_code });
      const ok = await confirmAction({
        title: ["このキオスクを登録しますか", "Enrol this kiosk?"],
        facts: [["鍵の指紋", "Key fingerprint", waiting.fingerprint],
          ["端末ID", "Kiosk id", v.kiosk_id], ["避難所", "Centre", v.centre]],
        effect: ["指紋がキオスクの画面と同じときだけ登録してください。登録すると、この端末で住民の本人確認・申請・再交付の印刷ができるようになります。",
          "Enrol only if the fingerprint is the one on the kiosk's screen. The kiosk can then identify residents, take applications and print copies."],
        ok: ["登録する", "Enrol"] });
      if (!ok) return;
      const done = await api.post("/api/v1/kiosk-enrolments/approve", v);
      result.replaceChildren(h("p", { class: "card ok", dataset: { kiosk: done.kiosk_id } },
        bi(`登録しました: ${done.kiosk_id}（指紋 ${done.fingerprint}）`, `Enrolled: ${done.kiosk_id} (fingerprint ${done.fingerprint})`)));
      form.reset();
    } catch (e) { showError(form, e); }
  });
  return h("div", {}, form, result);
}
