// @ts-check
// Data sources: connect a push source (its token, ingest URL and signing secret are shown once, with a
// ready curl command) and the list of sources.
import { api, errorMessage } from "../lib/api.js";
import { checkField, copyText, errorBox, field, h, select, table } from "../lib/dom.js";
import { formatDateTime, t } from "../lib/i18n.js";

/** @import { PageContext } from "../app.js" */
/** @import { AnswerOf, Body } from "../lib/api.js" */
/** @typedef {AnswerOf<"/api/v1/sources">["items"][number]} Source */
/** @typedef {AnswerOf<"/api/v1/sources", "post">} CreatedSource */

/**
 * A shell-safe single-quoted string.
 * @param {string} s
 */
const shellQuote = (s) => `'${String(s).replace(/'/g, "'\\''")}'`;

/** @param {{ ingestUrl: string }} source */
export function curlExample(source) {
  const metadata = {
    externalId: "call-0001",
    startedAt: "2026-11-20T10:15:00+05:00",
    direction: "inbound",
    operator: { externalId: "op-101", name: "Anna" },
    client: { phone: "+77010000000" },
  };
  return [
    `curl -X POST ${shellQuote(source.ingestUrl)} \\`,
    "  -F 'recording=@call.wav' \\",
    `  -F ${shellQuote(`metadata=${JSON.stringify(metadata)}`)}`,
  ].join("\n");
}

/**
 * @param {string} label
 * @param {string} value
 * @param {string} id
 */
function secretRow(label, value, id) {
  const status = h("span", { class: "muted small", role: "status" });
  return h(
    "div",
    { class: "secret" },
    h("dt", {}, label),
    h(
      "dd",
      {},
      h("code", { id }, value),
      h(
        "button",
        {
          type: "button",
          class: "secondary small",
          "aria-label": t("src.copyLabel", { what: label }),
          onClick: async () => {
            status.textContent = (await copyText(value)) ? t("src.copied") : t("src.copyFailed");
          },
        },
        t("src.copy"),
      ),
      status,
    ),
  );
}

/** @param {CreatedSource} source */
function createdPanel(source) {
  const curl = curlExample(source);
  return h(
    "section",
    { class: "card created", id: "created-source", "aria-labelledby": "created-title", tabindex: "-1" },
    h("h2", { id: "created-title" }, t("src.createdTitle", { name: source.name })),
    h("p", { class: "notice warning" }, t("src.onceWarning")),
    h(
      "dl",
      { class: "secrets" },
      secretRow(t("src.ingestUrl"), source.ingestUrl, "ingest-url"),
      secretRow(t("src.token"), source.token, "source-token"),
      secretRow(t("src.signingSecret"), source.signingSecret, "signing-secret"),
    ),
    h("h3", {}, t("src.curlTitle")),
    h(
      "pre",
      { class: "code", tabindex: "0", "aria-label": t("src.curlTitle") },
      h("code", { id: "curl-example" }, curl),
    ),
    h("p", { class: "hint" }, t("src.curlHint")),
    source.requireSignature ? h("p", { class: "hint" }, t("src.signatureHint")) : null,
  );
}

/** @param {PageContext} ctx */
export async function sourcesPage(ctx) {
  const list = await api.get("/api/v1/sources");
  const name = h("input", { name: "name", required: true, maxlength: "200" });
  const channel = select({ name: "operatorChannel" }, [
    ["left", t("src.left")],
    ["right", t("src.right")],
  ]);
  const signature = h("input", { type: "checkbox", name: "requireSignature" });
  const errors = errorBox();
  const createdSlot = h("div");

  const form = h(
    "form",
    {
      class: "card",
      "aria-labelledby": "new-source-title",
      onSubmit: async (event) => {
        event.preventDefault();
        errors.textContent = "";
        const button = /** @type {HTMLButtonElement} */ (form.querySelector("button[type=submit]"));
        button.disabled = true;
        try {
          const created = await api.post("/api/v1/sources", {
            body: {
              name: name.value.trim(),
              kind: "push",
              operatorChannel: /** @type {Body<"/api/v1/sources">["operatorChannel"]} */ (channel.value),
              requireSignature: signature.checked,
            },
          });
          form.reset();
          createdSlot.replaceChildren(createdPanel(created));
          listSlot.replaceChildren(sourcesTable((await api.get("/api/v1/sources")).items));
          /** @type {HTMLElement | null} */ (createdSlot.querySelector("#created-source"))?.focus();
        } catch (error) {
          errors.textContent = errorMessage(error);
        } finally {
          button.disabled = false;
        }
      },
    },
    h("h2", { id: "new-source-title" }, t("src.new")),
    h("p", { class: "hint" }, t("src.pushExplain")),
    h(
      "div",
      { class: "row" },
      h("div", { class: "grow" }, field(t("src.name"), name, t("src.nameHint"))),
      field(t("src.channel"), channel, t("src.channelHint")),
    ),
    checkField(t("src.requireSignature"), signature),
    errors,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, t("src.create"))),
  );

  /** @param {Source[]} items */
  const sourcesTable = (items) =>
    items.length
      ? table({
          caption: t("src.listTitle"),
          className: "responsive",
          head: [
            t("src.name"),
            t("src.kind"),
            t("src.channel"),
            t("src.signed"),
            t("src.created"),
            t("src.state"),
            "",
          ],
          rows: items.map((s) => [
            s.name,
            t(`src.kind.${s.kind}`),
            s.operatorChannel === "left" ? t("src.left") : t("src.right"),
            s.requireSignature ? t("answer.yes") : t("answer.no"),
            formatDateTime(s.createdAt),
            s.enabled ? t("src.enabled") : t("src.disabled"),
            !ctx.owner
              ? ""
              : h(
                  "button",
                  {
                    type: "button",
                    class: "link-button danger",
                    "aria-label": t("src.deleteLabel", { name: s.name }),
                    onClick: async () => {
                      if (!confirm(t("src.confirmDelete", { name: s.name }))) return;
                      try {
                        await api.delete("/api/v1/sources/{id}", { path: { id: s.id } });
                        listSlot.replaceChildren(sourcesTable((await api.get("/api/v1/sources")).items));
                        ctx.announce(t("src.deleted", { name: s.name }));
                      } catch (error) {
                        errors.textContent = errorMessage(error);
                      }
                    },
                  },
                  t("action.delete"),
                ),
          ]),
        })
      : h("p", { class: "empty" }, t("src.none"));
  const listSlot = h("div", {}, sourcesTable(list.items));

  return h(
    "section",
    { class: "page" },
    h("h1", {}, t("src.title")),
    h("p", { class: "lead" }, t("src.lead")),
    ctx.owner ? form : h("p", { class: "notice" }, t("src.ownerOnly")),
    createdSlot,
    h(
      "section",
      { class: "card", "aria-labelledby": "sources-title" },
      h("h2", { id: "sources-title" }, t("src.listTitle")),
      listSlot,
    ),
  );
}
