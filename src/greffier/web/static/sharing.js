/* Sharing a collection or a meeting: its grants, listed, given, changed, revoked through
 * /v1/{collections|meetings}/{id}/grants. The section stays hidden for people who may not
 * manage the resource (the API answers them 403 or 404). */
"use strict";

const Sharing = (() => {
  const { t, api, el } = Greffier;
  const section = document.getElementById("sharing");
  if (!section) return { show: () => {} };
  const rows = document.getElementById("sharing-rows");
  const form = document.getElementById("sharing-form");
  const status = document.getElementById("sharing-status");
  const resource = section.dataset.resource;
  let id = section.dataset.id ? Number(section.dataset.id) : null;

  const base = () => `/v1/${resource}/${id}/grants`;

  async function load() {
    let grants;
    try {
      grants = (await api(base())).data;
    } catch (error) {
      section.hidden = true;
      return;
    }
    section.hidden = false;
    rows.textContent = "";
    for (const g of grants) {
      const who = g.subject_type === "group" ? t("js.group_named", { name: g.subject }) : g.subject;
      const remove = el("button", { type: "button", class: "button button-small button-secondary" },
        t("js.revoke"), el("span", { class: "visually-hidden", text: ` ${who}` }));
      remove.addEventListener("click", async () => {
        try {
          await api(base(), { method: "DELETE", json: { [g.subject_type]: g.subject } });
          await load();
          status.textContent = t("js.revoked", { who });
        } catch (error) {
          status.textContent = error.message;
        }
      });
      rows.append(el("tr", {}, el("td", { text: who }),
        el("td", { text: t(`js.level_${g.permission}`) }), el("td", {}, remove)));
    }
    if (!grants.length) rows.append(el("tr", {}, el("td", { colspan: "3", text: t("js.not_shared") })));
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const name = data.get("name").trim();
    if (!name) return;
    try {
      await api(base(), { method: "POST", json: { [data.get("kind")]: name, permission: data.get("permission") } });
      form.reset();
      await load();
      status.textContent = t("js.shared", { who: name });
    } catch (error) {
      status.textContent = error.message;
    }
  });

  function show(newId) {
    id = newId;
    if (id === null) section.hidden = true;
    else load();
  }
  if (id !== null) load();
  return { show };
})();
