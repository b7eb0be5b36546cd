// @ts-check
// Templates (pre-prompts): the list, and an editor of questions with the price per minute shown live.
import { ApiError, api, errorMessage } from "../lib/api.js";
import { checkField, errorBox, field, h, select, table } from "../lib/dom.js";
import { formatDateTime, formatMoney, preferredLang, t, tOr } from "../lib/i18n.js";

/** @import { PageContext } from "../app.js" */
/** @import { AnswerOf, Body } from "../lib/api.js" */
/** @typedef {AnswerOf<"/api/v1/templates">["items"][number]} Template */
/** @typedef {Body<"/api/v1/templates">["questions"][number]} Question */
/** @typedef {AnswerOf<"/api/v1/billing/tariff">} Tariff */

const QUESTION_TYPES = /** @type {const} */ (["boolean", "score", "choice", "text"]);

// ---- exact decimal arithmetic on the API's money strings (micro-units as BigInt) ----
const SCALE = 1_000_000n;
/** @param {string} text */
function toMicro(text) {
  const [int = "0", frac = ""] = String(text).replace("-", "").split(".");
  const value = BigInt(int) * SCALE + BigInt(`${frac}000000`.slice(0, 6));
  return String(text).startsWith("-") ? -value : value;
}
/** @param {bigint} value */
function fromMicro(value) {
  const sign = value < 0n ? "-" : "";
  const abs = value < 0n ? -value : value;
  const frac = String(abs % SCALE)
    .padStart(6, "0")
    .replace(/0{1,4}$/, "");
  return `${sign}${abs / SCALE}.${frac.padEnd(2, "0")}`;
}
/**
 * A template's own price per minute: base + questions × per-question.
 * @param {Tariff} tariff
 * @param {number} questionCount
 */
const ownPrice = (tariff, questionCount) =>
  toMicro(tariff.templateBasePerMinute) + toMicro(tariff.perQuestionPerMinute) * BigInt(questionCount);

/**
 * Providers this server accepts, from its own OpenAPI document (the schema that validates templates).
 * @returns {Promise<string[]>}
 */
async function availableProviders() {
  try {
    // The document's own shape is not in the generated types (it is the source of them): the part read here.
    const doc =
      /** @type {{ paths: Record<string, { post: { requestBody: { content: Record<string, { schema: { properties: Record<string, { enum?: unknown }> } }> } } }> }} */ (
        await api.get("/api/v1/openapi.json")
      );
    const schema = doc.paths["/api/v1/templates"].post.requestBody.content["application/json"].schema;
    const values = schema.properties.provider.enum;
    if (Array.isArray(values) && values.length) return values;
  } catch {
    // Fall back to the provider every server has.
  }
  return ["rules"];
}

/**
 * Ready-made templates in the interface's language (Kazakh when preferred); owners copy one to edit it.
 * @param {PageContext} ctx
 * @param {{ items: AnswerOf<"/api/v1/templates/library">["items"] }} library
 */
function libraryPanel(ctx, library) {
  if (!library.items.length) return null;
  const errors = errorBox();
  const items = library.items.map((item) =>
    h(
      "li",
      { class: "library-item", "data-library-id": item.id },
      h("h3", {}, item.name),
      h("p", {}, item.description),
      h(
        "p",
        { class: "muted small" },
        t("tpl.libraryMeta", {
          n: item.questions.length,
          kind: item.provider === "llm" ? t("tpl.libraryLlm") : tOr("provider.rules", "rules"),
          price: formatMoney(item.pricePerMinute, item.currency),
        }),
      ),
      ctx.owner
        ? h(
            "button",
            {
              type: "button",
              class: "secondary small",
              "aria-label": t("tpl.libraryCopyLabel", { name: item.name }),
              onClick: async (event) => {
                // Kept before the await: an event's currentTarget is null once its dispatch is over.
                const button = /** @type {HTMLButtonElement} */ (event.currentTarget);
                button.disabled = true;
                errors.textContent = "";
                try {
                  const copy = await api.post("/api/v1/templates/library/{id}/copy", {
                    path: { id: item.id },
                    body: {},
                  });
                  ctx.navigate(`/templates/${copy.id}`);
                } catch (error) {
                  errors.textContent = errorMessage(error);
                  button.disabled = false;
                }
              },
            },
            t("tpl.libraryCopy"),
          )
        : null,
    ),
  );
  return h(
    "section",
    { class: "card", "aria-labelledby": "library-title" },
    h("h2", { id: "library-title" }, t("tpl.library")),
    h("p", { class: "hint" }, t("tpl.libraryHint")),
    errors,
    h("ul", { class: "library" }, items),
  );
}

/** @param {PageContext} ctx */
export async function templatesPage(ctx) {
  const [list, tariff, library] = await Promise.all([
    api.get("/api/v1/templates"),
    api.get("/api/v1/billing/tariff"),
    api
      .get("/api/v1/templates/library", { query: { language: preferredLang() } })
      .catch(() => ({ items: [] })),
  ]);
  const rows = list.items.map((tpl) => [
    h("a", { href: `#/templates/${tpl.id}` }, tpl.name),
    tOr(`provider.${tpl.provider}`, tpl.provider),
    tpl.active ? t("tpl.active") : t("tpl.inactive"),
    String(tpl.questions.length),
    formatMoney(tpl.pricePerMinute, tpl.currency),
    formatDateTime(tpl.updatedAt),
  ]);
  return h(
    "section",
    { class: "page" },
    h(
      "div",
      { class: "page-head" },
      h("h1", {}, t("tpl.title")),
      ctx.owner ? h("a", { href: "#/templates/new", class: "button primary" }, t("tpl.new")) : null,
    ),
    h(
      "p",
      { class: "lead", id: "tariff-summary" },
      t("tpl.tariffNow", {
        price: formatMoney(tariff.pricePerMinute, tariff.currency),
        transcription: formatMoney(tariff.transcriptionPerMinute, tariff.currency),
        base: formatMoney(tariff.templateBasePerMinute, tariff.currency),
        question: formatMoney(tariff.perQuestionPerMinute, tariff.currency),
      }),
    ),
    ctx.owner ? null : h("p", { class: "notice" }, t("tpl.readOnly")),
    rows.length
      ? table({
          caption: t("tpl.title"),
          className: "responsive",
          head: [
            t("tpl.name"),
            t("tpl.provider"),
            t("tpl.state"),
            t("tpl.questions"),
            t("tpl.ownPrice"),
            t("tpl.updated"),
          ],
          rows,
        })
      : h("p", { class: "empty" }, t("tpl.none")),
    libraryPanel(ctx, library),
  );
}

/**
 * @param {Partial<Question>} question
 * @param {number} index
 * @param {() => void} onChange
 * @param {() => void} onRemove
 * @param {boolean} readOnly
 * @returns {{ node: HTMLFieldSetElement, value: () => Question }}
 */
function questionEditor(question, index, onChange, onRemove, readOnly) {
  const text = h("textarea", {
    rows: 2,
    name: "text",
    required: true,
    maxlength: "1000",
    value: question.text ?? "",
  });
  const key = h("input", {
    name: "key",
    required: true,
    pattern: "[a-z][a-z0-9_]{0,63}",
    value: question.key ?? `q${index + 1}`,
    autocomplete: "off",
  });
  const type = select(
    { name: "type", value: question.type ?? "boolean" },
    QUESTION_TYPES.map((v) => [v, t(`qtype.${v}`)]),
  );
  const options = h("textarea", { rows: 3, name: "options", value: (question.options ?? []).join("\n") });
  const min = h("input", { type: "number", name: "min", step: "1", value: String(question.scale?.min ?? 1) });
  const max = h("input", { type: "number", name: "max", step: "1", value: String(question.scale?.max ?? 5) });
  const speaker = select(
    { name: "speaker", value: question.keywords?.speaker ?? "operator" },
    /** @type {const} */ (["operator", "client", "any"]).map((v) => [v, t(`kwspeaker.${v}`)]),
  );
  const phrases = h("textarea", {
    rows: 3,
    name: "phrases",
    value: (question.keywords?.any ?? []).join("\n"),
  });

  const choicePart = h("div", { class: "type-part" }, field(t("q.options"), options, t("q.optionsHint")));
  const scorePart = h(
    "div",
    { class: "type-part row" },
    field(t("q.scaleMin"), min),
    field(t("q.scaleMax"), max),
  );
  const keywordsPart = h(
    "div",
    { class: "type-part" },
    h(
      "div",
      { class: "row" },
      field(t("q.speaker"), speaker),
      h("div", { class: "grow" }, field(t("q.keywords"), phrases, t("q.keywordsHint"))),
    ),
  );
  const showParts = () => {
    choicePart.hidden = type.value !== "choice";
    scorePart.hidden = type.value !== "score";
    keywordsPart.hidden = type.value !== "boolean";
  };
  type.addEventListener("change", () => {
    showParts();
    onChange();
  });
  showParts();

  const legendId = `q-legend-${index}`;
  const node = h(
    "fieldset",
    { class: "question card", "data-index": String(index) },
    h("legend", { id: legendId }, t("q.legend", { n: index + 1 })),
    field(t("q.text"), text),
    h("div", { class: "row" }, field(t("q.key"), key, t("q.keyHint")), field(t("q.type"), type)),
    choicePart,
    scorePart,
    keywordsPart,
    readOnly
      ? null
      : h(
          "button",
          { type: "button", class: "link-button danger", "aria-describedby": legendId, onClick: onRemove },
          t("q.remove"),
        ),
  );
  /** @param {HTMLTextAreaElement} el */
  const lines = (el) =>
    el.value
      .split("\n")
      .map((s) => s.trim())
      .filter(Boolean);
  const value = () => {
    /** @type {Question} */
    const q = {
      key: key.value.trim(),
      text: text.value.trim(),
      type: /** @type {Question["type"]} */ (type.value),
    };
    if (q.type === "choice") q.options = lines(options);
    if (q.type === "score") q.scale = { min: Number(min.value), max: Number(max.value) };
    if (q.type === "boolean" && lines(phrases).length)
      q.keywords = {
        speaker: /** @type {NonNullable<Question["keywords"]>["speaker"]} */ (speaker.value),
        any: lines(phrases),
      };
    return q;
  };
  return { node, value };
}

/** @param {PageContext} ctx */
export async function templateEditorPage(ctx) {
  const id = ctx.params[0];
  const isNew = id === "new";
  const [tariff, template, providers] = await Promise.all([
    api.get("/api/v1/billing/tariff"),
    isNew ? Promise.resolve(null) : api.get("/api/v1/templates/{id}", { path: { id } }),
    availableProviders(),
  ]);
  const readOnly = !ctx.owner;
  // The template answer leaves its questions untyped (unknown[]); they are the questions it was saved with.
  /** @type {{ name: string, provider: string, active: boolean, questions: Question[] }} */
  const draft = template
    ? { ...template, questions: /** @type {Question[]} */ (template.questions) }
    : {
        name: "",
        provider: providers[0],
        active: true,
        questions: [{ key: "q1", text: "", type: "boolean", keywords: { speaker: "operator", any: [] } }],
      };

  const name = h("input", { name: "name", required: true, maxlength: "200", value: draft.name });
  const provider = select(
    { name: "provider", value: draft.provider },
    [...new Set([...providers, draft.provider])].map((p) => [p, tOr(`provider.${p}`, p)]),
  );
  const active = h("input", { type: "checkbox", name: "active", checked: draft.active });
  const questionsBox = h("div", { class: "questions" });
  const price = h("div", { class: "price card", "aria-live": "polite", id: "live-price" });
  const errors = errorBox();

  /** @type {ReturnType<typeof questionEditor>[]} */
  let editors = [];
  /** @param {Question[]} questions */
  const renderQuestions = (questions) => {
    editors = questions.map((q, i) =>
      questionEditor(
        q,
        i,
        () => updatePrice(),
        () => {
          const current = editors.map((e) => e.value());
          current.splice(i, 1);
          renderQuestions(current);
          updatePrice();
          /** @type {HTMLElement | null} */ (questionsBox.querySelector("fieldset textarea"))?.focus();
        },
        readOnly,
      ),
    );
    questionsBox.replaceChildren(...editors.map((e) => e.node));
  };

  // The saved version of this template is already in the tariff's price if it is active.
  const savedOwn = template?.active ? ownPrice(tariff, template.questions.length) : 0n;
  const updatePrice = () => {
    const count = editors.length;
    const own = ownPrice(tariff, count);
    const callPrice = toMicro(tariff.pricePerMinute) - savedOwn + (active.checked ? own : 0n);
    /** @param {bigint} micro */
    const money = (micro) => formatMoney(fromMicro(micro), tariff.currency);
    price.replaceChildren(
      ...[
        h("h2", {}, t("tpl.priceTitle")),
        h(
          "p",
          { id: "template-price" },
          t("tpl.priceOwn", {
            base: formatMoney(tariff.templateBasePerMinute, tariff.currency),
            n: count,
            per: formatMoney(tariff.perQuestionPerMinute, tariff.currency),
            total: money(own),
          }),
        ),
        h(
          "p",
          { id: "call-price" },
          h("strong", {}, t("tpl.priceCall", { total: money(callPrice) })),
          " ",
          h(
            "span",
            { class: "muted" },
            t("tpl.priceCallHint", {
              transcription: formatMoney(tariff.transcriptionPerMinute, tariff.currency),
            }),
          ),
        ),
        active.checked ? null : h("p", { class: "muted" }, t("tpl.inactiveHint")),
      ].filter((node) => node !== null),
    );
  };
  active.addEventListener("change", updatePrice);
  renderQuestions(draft.questions);
  updatePrice();

  const save = async () => {
    errors.textContent = "";
    /** @type {Body<"/api/v1/templates">} */
    const body = {
      name: name.value.trim(),
      // One of the choices this page offers: the server's own list (its OpenAPI enum) or the saved value.
      provider: /** @type {Body<"/api/v1/templates">["provider"]} */ (provider.value),
      active: active.checked,
      questions: editors.map((e) => e.value()),
    };
    try {
      if (isNew) await api.post("/api/v1/templates", { body });
      else await api.patch("/api/v1/templates/{id}", { path: { id }, body });
      ctx.announce(t("tpl.saved"));
      ctx.navigate("/templates");
    } catch (error) {
      const invalid = error instanceof ApiError && error.code === "VALIDATION_FAILED";
      errors.replaceChildren(h("span", {}, invalid ? t("tpl.invalid") : errorMessage(error)));
      if (error instanceof ApiError && Array.isArray(error.details)) {
        errors.append(
          h(
            "ul",
            {},
            error.details.map((d) => h("li", {}, `${d.path.replace(/^body\./, "")}: ${d.message}`)),
          ),
        );
      }
    }
  };

  const form = h(
    "form",
    {
      class: "template-form",
      "aria-labelledby": "template-title",
      onSubmit: (event) => {
        event.preventDefault();
        if (!readOnly) save();
      },
    },
    h(
      "fieldset",
      { class: "plain", disabled: readOnly },
      h("legend", { class: "visually-hidden" }, t("tpl.settings")),
      h(
        "div",
        { class: "row" },
        h("div", { class: "grow" }, field(t("tpl.name"), name)),
        field(t("tpl.provider"), provider, t("tpl.providerHint")),
      ),
      checkField(t("tpl.activeLabel"), active),
      h("h2", {}, t("tpl.questions")),
      questionsBox,
      readOnly
        ? null
        : h(
            "button",
            {
              type: "button",
              class: "secondary",
              onClick: () => {
                renderQuestions([
                  ...editors.map((e) => e.value()),
                  {
                    key: `q${editors.length + 1}`,
                    text: "",
                    type: "boolean",
                    keywords: { speaker: "operator", any: [] },
                  },
                ]);
                updatePrice();
                questionsBox.lastElementChild?.querySelector("textarea")?.focus();
              },
            },
            t("q.add"),
          ),
    ),
    errors,
    readOnly
      ? null
      : h(
          "div",
          { class: "actions" },
          h("button", { type: "submit", class: "primary" }, t("action.save")),
          h("a", { href: "#/templates", class: "button secondary" }, t("action.cancel")),
          isNew
            ? null
            : h(
                "button",
                {
                  type: "button",
                  class: "danger",
                  onClick: async () => {
                    if (!confirm(t("tpl.confirmDelete", { name: draft.name }))) return;
                    try {
                      await api.delete("/api/v1/templates/{id}", { path: { id } });
                      ctx.navigate("/templates");
                    } catch (error) {
                      errors.textContent = errorMessage(error);
                    }
                  },
                },
                t("action.delete"),
              ),
        ),
  );

  return h(
    "section",
    { class: "page" },
    h("p", { class: "back" }, h("a", { href: "#/templates" }, `← ${t("tpl.back")}`)),
    h("h1", { id: "template-title" }, isNew ? t("tpl.newTitle") : t("tpl.editTitle", { name: draft.name })),
    readOnly ? h("p", { class: "notice" }, t("tpl.readOnly")) : null,
    template ? h("p", { class: "muted" }, t("tpl.version", { v: template.version })) : null,
    h(
      "div",
      { class: "columns" },
      h("div", { class: "column-main" }, form),
      h("div", { class: "column-side" }, price),
    ),
  );
}
