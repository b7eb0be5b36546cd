// @ts-check
// Balance: available / main / bonus / reserved, when the bonus would be voided, card top-up through the
// gateway's page, bank invoices with their PDFs, card payments and the ledger.
import { ApiError, api, errorMessage } from "../lib/api.js";
import { errorBox, field, h, saveBlob, table } from "../lib/dom.js";
import { formatDate, formatDateTime, formatMoney, t } from "../lib/i18n.js";

/** @import { PageContext } from "../app.js" */
/** @import { AnswerOf } from "../lib/api.js" */
/** @typedef {AnswerOf<"/api/v1/billing/balance">} Balance */
/** @typedef {AnswerOf<"/api/v1/billing/ledger">["items"][number]} LedgerEntry */
/** @typedef {AnswerOf<"/api/v1/billing/invoices">["items"][number]} Invoice */

const LEDGER_PAGE = 20;

/** @param {Balance} b */
function balanceTiles(b) {
  /** @type {(key: "available" | "main" | "bonus" | "reserved", value: string, id: string, hint: string) => HTMLDivElement} */
  const tile = (key, value, id, hint) =>
    h(
      "div",
      { class: `tile ${key}` },
      h("dt", {}, t(`bal.${key}`)),
      h("dd", { id }, value),
      hint ? h("dd", { class: "hint" }, hint) : null,
    );
  return h(
    "dl",
    { class: "tiles balance-tiles" },
    tile("available", formatMoney(b.available, b.currency), "balance-available", t("bal.availableHint")),
    tile("main", formatMoney(b.main, b.currency), "balance-main", t("bal.mainHint")),
    tile("bonus", formatMoney(b.bonus, b.currency), "balance-bonus", t("bal.bonusHint")),
    tile("reserved", formatMoney(b.reserved, b.currency), "balance-reserved", t("bal.reservedHint")),
  );
}

/** @param {Balance} b */
function bonusNote(b) {
  if (Number(b.bonus) <= 0) return null;
  if (b.bonusVoidsAt) {
    return h(
      "p",
      { class: "notice warning", id: "bonus-note" },
      t("bal.bonusVoids", { amount: formatMoney(b.bonus, b.currency), when: formatDateTime(b.bonusVoidsAt) }),
    );
  }
  return h(
    "p",
    { class: "notice", id: "bonus-note" },
    t("bal.bonusKept", { amount: formatMoney(b.bonus, b.currency) }),
  );
}

/** @param {LedgerEntry[]} items */
function ledgerRows(items) {
  return items.map((l) => {
    const ref = l.callId
      ? h("a", { href: `#/calls/${l.callId}` }, t("ledger.call"))
      : l.paymentId
        ? t("ledger.payment")
        : l.invoiceId
          ? t("ledger.invoice")
          : "—";
    const amount = h(
      "span",
      { class: Number(l.amount) > 0 ? "credit" : Number(l.amount) < 0 ? "debit" : "" },
      formatMoney(l.amount, l.currency, { signed: true }),
    );
    return h(
      "tr",
      { "data-type": l.type },
      h("td", { "data-label": t("ledger.when") }, formatDateTime(l.at)),
      h("td", { "data-label": t("ledger.type") }, t(`ledger.type.${l.type}`)),
      h("td", { "data-label": t("ledger.amount"), class: "num" }, amount),
      h(
        "td",
        { "data-label": t("ledger.reserved"), class: "num" },
        Number(l.reserved) === 0 ? "—" : formatMoney(l.reserved, l.currency, { signed: true }),
      ),
      h("td", { "data-label": t("ledger.ref") }, ref),
    );
  });
}

/** @param {PageContext} ctx */
export async function billingPage(ctx) {
  // The API refuses managers (403); the app shows that refusal as the page.
  const [balance, ledger, invoices, payments] = await Promise.all([
    api.get("/api/v1/billing/balance"),
    api.get("/api/v1/billing/ledger", { query: { limit: LEDGER_PAGE } }),
    api.get("/api/v1/billing/invoices", { query: { limit: 20 } }),
    api.get("/api/v1/billing/payments", { query: { limit: 5 } }).catch(() => ({ items: [] })),
  ]);
  const currency = balance.currency;

  // ---- card top-up ----
  const amount = h("input", {
    type: "number",
    name: "amount",
    min: "1",
    step: "0.01",
    required: true,
    inputmode: "decimal",
    value: "5000",
  });
  const topUpErrors = errorBox();
  const topUp = h(
    "form",
    {
      class: "card",
      "aria-labelledby": "topup-title",
      onSubmit: async (event) => {
        event.preventDefault();
        topUpErrors.textContent = "";
        const button = /** @type {HTMLButtonElement} */ (topUp.querySelector("button[type=submit]"));
        button.disabled = true;
        try {
          const payment = await api.post("/api/v1/billing/payments", {
            body: { amount: Number(amount.value).toFixed(2) },
          });
          // The gateway's page; it sends the payer back to #/billing.
          location.assign(payment.redirectUrl);
        } catch (error) {
          topUpErrors.textContent = errorMessage(error);
          button.disabled = false;
        }
      },
    },
    h("h2", { id: "topup-title" }, t("bal.topUpTitle")),
    field(t("bal.amount", { currency }), amount, t("bal.topUpHint")),
    topUpErrors,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, t("bal.payByCard"))),
  );

  // ---- bank invoice ----
  const invAmount = h("input", {
    type: "number",
    name: "invoice-amount",
    min: "1",
    step: "0.01",
    required: true,
    inputmode: "decimal",
  });
  const payer = h("input", { name: "payer", required: true, maxlength: "300", autocomplete: "organization" });
  const bin = h("input", {
    name: "bin",
    required: true,
    pattern: "\\d{12}",
    inputmode: "numeric",
    maxlength: "12",
  });
  const address = h("input", {
    name: "address",
    required: true,
    maxlength: "500",
    autocomplete: "street-address",
  });
  const invoiceErrors = errorBox();
  const invoiceList = h("div");
  /** @param {Invoice[]} items */
  const renderInvoices = (items) =>
    invoiceList.replaceChildren(
      items.length
        ? table({
            caption: t("inv.listTitle"),
            className: "responsive",
            head: [
              t("inv.number"),
              t("inv.created"),
              t("inv.amount"),
              t("inv.status"),
              t("inv.validUntil"),
              "",
            ],
            rows: items.map((inv) => [
              inv.number,
              formatDate(inv.createdAt),
              formatMoney(inv.amount, inv.currency),
              t(`inv.status.${inv.status}`),
              formatDateTime(inv.validUntil),
              h(
                "button",
                {
                  type: "button",
                  class: "secondary small",
                  "aria-label": t("inv.downloadLabel", { number: inv.number }),
                  onClick: async () => {
                    try {
                      // The invoice's pdfUrl is this path; naming it keeps the download on the typed API.
                      const { blob } = await api.blob("/api/v1/billing/invoices/{id}/pdf", {
                        path: { id: inv.id },
                      });
                      saveBlob(blob, `invoice-${inv.number}.pdf`);
                    } catch (error) {
                      invoiceErrors.textContent = errorMessage(error);
                    }
                  },
                },
                t("inv.pdf"),
              ),
            ]),
          })
        : h("p", { class: "empty" }, t("inv.none")),
    );
  renderInvoices(invoices.items);
  const invoiceForm = h(
    "form",
    {
      class: "card",
      "aria-labelledby": "invoice-title",
      onSubmit: async (event) => {
        event.preventDefault();
        invoiceErrors.textContent = "";
        try {
          const created = await api.post("/api/v1/billing/invoices", {
            body: {
              amount: Number(invAmount.value).toFixed(2),
              payer: { name: payer.value.trim(), bin: bin.value.trim(), address: address.value.trim() },
            },
          });
          invoiceForm.reset();
          renderInvoices((await api.get("/api/v1/billing/invoices", { query: { limit: 20 } })).items);
          ctx.announce(t("inv.created", { number: created.number }));
        } catch (error) {
          invoiceErrors.textContent =
            error instanceof ApiError && error.code === "VALIDATION_FAILED" && /BIN|IIN/i.test(error.message)
              ? t("inv.badBin")
              : errorMessage(error);
        }
      },
    },
    h("h2", { id: "invoice-title" }, t("inv.title")),
    h("p", { class: "hint" }, t("inv.hint")),
    h(
      "div",
      { class: "row" },
      field(t("bal.amount", { currency }), invAmount),
      h("div", { class: "grow" }, field(t("inv.payer"), payer)),
      field(t("inv.bin"), bin, t("inv.binHint")),
    ),
    field(t("inv.address"), address),
    invoiceErrors,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, t("inv.issue"))),
    invoiceList,
  );

  // ---- ledger ----
  const ledgerBody = h("tbody", {}, ledgerRows(ledger.items));
  let nextCursor = ledger.nextCursor;
  const more = h(
    "button",
    {
      type: "button",
      class: "secondary",
      hidden: !nextCursor,
      onClick: async () => {
        const page = await api.get("/api/v1/billing/ledger", {
          query: { limit: LEDGER_PAGE, cursor: nextCursor ?? undefined },
        });
        ledgerBody.append(...ledgerRows(page.items));
        nextCursor = page.nextCursor;
        more.hidden = !nextCursor;
      },
    },
    t("ledger.more"),
  );
  const ledgerHead = [
    t("ledger.when"),
    t("ledger.type"),
    t("ledger.amount"),
    t("ledger.reserved"),
    t("ledger.ref"),
  ];
  const ledgerTable = h(
    "table",
    { class: "responsive ledger", id: "ledger" },
    h("caption", { class: "visually-hidden" }, t("ledger.title")),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ledgerHead.map((c, i) => h("th", { scope: "col", class: i === 2 || i === 3 ? "num" : "" }, c)),
      ),
    ),
    ledgerBody,
  );

  const recentPayments = payments.items.length
    ? table({
        caption: t("pay.title"),
        className: "responsive",
        head: [t("pay.when"), t("pay.amount"), t("pay.status")],
        rows: payments.items.map((p) => [
          formatDateTime(p.createdAt),
          formatMoney(p.amount, p.currency),
          t(`pay.status.${p.status}`),
        ]),
      })
    : null;

  return h(
    "section",
    { class: "page" },
    h("h1", {}, t("bal.title")),
    balance.suspended ? h("p", { class: "notice danger", role: "alert" }, t("bal.suspended")) : null,
    balanceTiles(balance),
    bonusNote(balance),
    h(
      "div",
      { class: "columns even" },
      topUp,
      recentPayments
        ? h(
            "section",
            { class: "card", "aria-labelledby": "payments-title" },
            h("h2", { id: "payments-title" }, t("pay.title")),
            recentPayments,
          )
        : null,
    ),
    h(
      "section",
      { class: "card", "aria-labelledby": "ledger-title" },
      h("h2", { id: "ledger-title" }, t("ledger.title")),
      ledger.items.length ? ledgerTable : h("p", { class: "empty" }, t("ledger.none")),
      more,
    ),
    invoiceForm,
  );
}
