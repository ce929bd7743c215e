/* The documents page: collections, drag-and-drop upload with per-file progress, the
 * indexing job followed to its end, search, deletion. Everything through /v1. */
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const { t, api, upload, el } = Greffier;
  const collectionList = document.getElementById("collection-list");
  const body = document.getElementById("collection-body");
  const title = document.getElementById("collection-title");
  const meta = document.getElementById("collection-meta");
  const rows = document.getElementById("document-rows");
  const uploads = document.getElementById("upload-list");
  const status = document.getElementById("documents-status");
  const results = document.getElementById("search-results");
  const dropzone = document.getElementById("dropzone");
  const fileInput = document.getElementById("file-input");
  const POLL_MS = 1000;
  let current = null;

  const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  document.getElementById("accept-share").addEventListener("click", async () => {
    try {
      await api(`/v1/collections/${current.id}/accept`, { method: "POST" });
      document.getElementById("share-pending").hidden = true;
      // Said once the list shows the collection as accepted, not before.
      await loadCollections(current.id);
      status.textContent = t("js.share_accepted", { name: current.name });
    } catch (error) {
      status.textContent = error.message;
    }
  });

  async function loadCollections(select) {
    const { data } = await api("/v1/collections");
    collectionList.textContent = "";
    collectionList.removeAttribute("aria-busy");
    document.getElementById("no-collection").hidden = data.length > 0;
    for (const c of data) {
      const button = el(
        "button",
        { type: "button", class: "collection-button", "data-id": c.id, "aria-pressed": "false" },
        el("span", { class: "collection-name", text: c.name }),
        el("span", { class: "hint", text: t("js.n_documents", { n: c.documents }) }),
        c.accepted === false ? el("span", { class: "badge", text: t("js.share_new") }) : null,
      );
      button.addEventListener("click", () => selectCollection(c, true));
      collectionList.append(el("li", {}, button));
    }
    const wanted = select ?? Number(new URLSearchParams(location.search).get("collection"));
    const found = data.find((c) => c.id === wanted);
    if (found) await selectCollection(found, false);
    else if (current && !data.find((c) => c.id === current.id)) {
      current = null;
      body.hidden = true;
      title.textContent = t("js.pick_collection");
    }
  }

  async function selectCollection(collection, focus) {
    current = collection;
    for (const b of collectionList.querySelectorAll("button")) {
      b.setAttribute("aria-pressed", String(Number(b.dataset.id) === collection.id));
    }
    history.replaceState(null, "", `/documents?collection=${collection.id}`);
    title.textContent = collection.name;
    meta.textContent = [collection.description, t(`js.sensitivity_${collection.sensitivity}`)]
      .filter(Boolean)
      .join(" · ");
    body.hidden = false;
    results.textContent = "";
    // Shared by someone else and not accepted: searchable only by naming it.
    document.getElementById("share-pending").hidden = collection.accepted !== false;
    Sharing.show(collection.id);
    await loadDocuments();
    if (focus) title.focus();
  }

  function statusText(d) {
    if (d.status === "failed") return `${t("js.status_failed")} : ${d.error ? d.error.message : ""}`;
    return t(`js.status_${d.status}`);
  }

  async function loadDocuments() {
    const { data } = await api(`/v1/collections/${current.id}/documents`);
    rows.textContent = "";
    document.getElementById("no-document").hidden = data.length > 0;
    for (const d of data) {
      const remove = el("button", { type: "button", class: "button button-small button-secondary" },
        t("js.delete"), el("span", { class: "visually-hidden", text: ` ${d.name}` }));
      remove.addEventListener("click", async () => {
        if (!window.confirm(t("js.delete_document_confirm", { name: d.name }))) return;
        try {
          await api(`/v1/documents/${d.id}`, { method: "DELETE" });
          await loadDocuments();
          await loadCollections(current.id);
          status.textContent = t("js.deleted", { name: d.name });
        } catch (error) {
          status.textContent = error.message;
        }
      });
      rows.append(
        el("tr", { class: `document-${d.status}` },
          el("th", { scope: "row", text: d.name }),
          el("td", { text: d.format || "" }),
          el("td", { text: d.pages ?? "" }),
          el("td", { text: d.chunks }),
          el("td", {}, el("span", { class: `status status-${d.status}`, text: statusText(d) })),
          el("td", {}, remove)),
      );
    }
  }

  /* --- upload --------------------------------------------------------------------------- */

  function uploadItem(file) {
    const progress = el("progress", { max: "100", value: "0", "aria-label": t("js.upload_of", { name: file.name }) });
    const state = el("span", { class: "upload-state", text: t("js.waiting") });
    const item = el("li", { class: "upload-item" }, el("span", { class: "upload-name", text: file.name }), progress, state);
    uploads.prepend(item);
    return {
      progress: (p) => { progress.value = Math.round(p * 100); state.textContent = t("js.sending", { p: Math.round(p * 100) }); },
      set: (text, kind) => {
        state.textContent = text;
        item.className = `upload-item upload-${kind}`;
        if (kind !== "running") progress.value = 100;
      },
    };
  }

  async function followJob(jobId, items) {
    for (;;) {
      const job = await api(`/v1/jobs/${jobId}`);
      for (const d of job.documents) {
        const item = items.get(d.name);
        if (!item) continue;
        if (d.status === "indexed") item.set(t("js.indexed", { n: d.chunks }), "done");
        else if (d.status === "failed") item.set(`${t("js.status_failed")} : ${d.error ? d.error.message : ""}`, "error");
        else item.set(t("js.indexing"), "running");
      }
      if (job.status === "done" || job.status === "failed") return job;
      await wait(POLL_MS);
    }
  }

  async function sendFile(collection, file) {
    const item = uploadItem(file);
    const form = new FormData();
    form.append("files", file, file.webkitRelativePath || file.name);
    try {
      const answer = await upload(`/v1/collections/${collection.id}/documents`, form, item.progress);
      for (const refused of answer.refused) item.set(`${t("js.refused")} : ${refused.reason}`, "error");
      if (answer.unchanged.length) item.set(t("js.unchanged"), "done");
      if (answer.job_id) {
        item.set(t("js.indexing"), "running");
        await followJob(answer.job_id, new Map(answer.queued.map((name) => [name, item])));
      }
    } catch (error) {
      item.set(`${t("js.refused")} : ${error.message}`, "error");
    }
  }

  async function sendFiles(files) {
    if (!current || !files.length) return;
    const collection = current;
    status.textContent = t("js.uploading", { n: files.length });
    await Promise.all([...files].map((file) => sendFile(collection, file)));
    if (current && current.id === collection.id) await loadDocuments();
    await loadCollections(current ? current.id : undefined);
    status.textContent = t("js.uploads_done");
  }

  fileInput.addEventListener("change", () => {
    sendFiles([...fileInput.files]);
    fileInput.value = "";
  });
  for (const name of ["dragenter", "dragover"]) {
    dropzone.addEventListener(name, (event) => {
      event.preventDefault();
      dropzone.classList.add("dropzone-active");
    });
  }
  for (const name of ["dragleave", "drop"]) {
    dropzone.addEventListener(name, () => dropzone.classList.remove("dropzone-active"));
  }
  dropzone.addEventListener("drop", (event) => {
    event.preventDefault();
    sendFiles([...event.dataTransfer.files]);
  });

  /* --- collections ---------------------------------------------------------------------- */

  const newCollection = document.getElementById("new-collection");
  newCollection.addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = document.getElementById("new-collection-error");
    error.hidden = true;
    const form = new FormData(newCollection);
    try {
      const created = await api("/v1/collections", {
        method: "POST",
        json: {
          name: form.get("name"),
          description: form.get("description"),
          sensitivity: form.get("sensitivity"),
        },
      });
      newCollection.reset();
      await loadCollections(created.id);
      status.textContent = t("js.collection_created", { name: created.name });
      title.focus();
    } catch (failure) {
      error.textContent = failure.message;
      error.hidden = false;
    }
  });

  document.getElementById("delete-collection").addEventListener("click", async () => {
    if (!current || !window.confirm(t("js.delete_collection_confirm", { name: current.name }))) return;
    try {
      await api(`/v1/collections/${current.id}`, { method: "DELETE" });
      const deleted = current.name;
      current = null;
      body.hidden = true;
      title.textContent = t("js.pick_collection");
      history.replaceState(null, "", "/documents");
      await loadCollections(null);
      status.textContent = t("js.deleted", { name: deleted });
    } catch (error) {
      status.textContent = error.message;
    }
  });

  /* --- search --------------------------------------------------------------------------- */

  document.getElementById("search-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const query = document.getElementById("search-query").value.trim();
    if (!query || !current) return;
    results.textContent = t("js.searching");
    try {
      const { data } = await api("/v1/search", {
        method: "POST",
        json: { query, collections: [current.id], k: 10 },
      });
      results.textContent = "";
      results.append(el("h3", { text: t("js.results", { n: data.length }) }));
      const list = el("ol", { class: "result-list" });
      for (const hit of data) {
        let label = hit.document;
        if (hit.page) label += `, ${t("js.page", { page: hit.page })}`;
        if (hit.heading) label += ` — ${hit.heading}`;
        const href = `/passage?document=${hit.document_id}&start=${hit.char_start}&end=${hit.char_end}`;
        const excerpt = hit.text.length > 300 ? `${hit.text.slice(0, 300)}…` : hit.text;
        list.append(el("li", {}, el("a", { class: "source-link", href, text: label }),
          el("blockquote", { class: "excerpt", text: excerpt })));
      }
      results.append(list);
    } catch (error) {
      results.textContent = error.message;
    }
  });

  loadCollections().catch((error) => { status.textContent = error.message; });
});
