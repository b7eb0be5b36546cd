// @ts-check
// One call's report: the recording with the dialogue in sync (click a line to play from it, the
// line being heard is highlighted), measurements, answers with their evidence, cost and status.
import { ApiError, api, errorMessage } from "../lib/api.js";
import { h } from "../lib/dom.js";
import {
  formatClock,
  formatDateTime,
  formatMoney,
  formatNumber,
  formatPercent,
  formatSeconds,
  t,
  tOr,
} from "../lib/i18n.js";
import { operatorLabel, statusBadge } from "./calls.js";

/** @import { PageContext } from "../app.js" */
/** @import { AnswerOf } from "../lib/api.js" */
/** @import { Question, Template } from "./templates.js" */
/** @typedef {AnswerOf<"/api/v1/calls/{id}">} Call */
/** @typedef {Call["analysis"][number]["answers"][number]} Answer */

/** @type {Set<Call["status"]>} */
const WORKING = new Set(["received", "processing", "awaiting_funds"]);
/** A line counts as being heard a little before and after its exact bounds (speech onsets are soft). */
const TOLERANCE_SEC = 0.25;

const KNOWN_ERRORS = /** @type {const} */ ([
  "MEDIA_UNREADABLE",
  "MEDIA_TOO_LONG",
  "MEDIA_DURATION_MISMATCH",
  "TRANSCRIPTION_FAILED",
  "ANALYSIS_FAILED",
  "UNAVAILABLE",
  "PAYLOAD_TOO_LARGE",
]);
/**
 * @param {string} code
 * @returns {code is (typeof KNOWN_ERRORS)[number]}
 */
const isKnownError = (code) => /** @type {readonly string[]} */ (KNOWN_ERRORS).includes(code);
/** @param {string} code */
const errorText = (code) => t(isKnownError(code) ? `callError.${code}` : "callError.other");

/**
 * Owners: answer the active templates again (billed like a new analysis); the report refreshes when done.
 * @param {PageContext} ctx
 * @param {Call} call
 */
function reanalyzeControl(ctx, call) {
  if (!ctx.owner || call.status !== "done") return null;
  const note = h("p", { class: "muted small", role: "status" });
  const button = h(
    "button",
    {
      type: "button",
      class: "secondary small",
      onClick: async () => {
        if (!confirm(t("call.reanalyzeConfirm"))) return;
        button.disabled = true;
        note.textContent = "";
        try {
          const run = await api.post("/api/v1/calls/{id}/reanalyze", { path: { id: call.id } });
          note.textContent = t("call.reanalyzeQueued", { amount: formatMoney(run.amount, run.currency) });
          const before = JSON.stringify(call.analysis);
          const started = Date.now();
          const timer = setInterval(async () => {
            if (!ctx.isCurrent() || Date.now() - started > 180_000) return clearInterval(timer);
            const fresh = await api.get("/api/v1/calls/{id}", { path: { id: call.id } }).catch(() => null);
            if (fresh && JSON.stringify(fresh.analysis) !== before) {
              clearInterval(timer);
              ctx.announce(t("call.reanalyzed"));
              ctx.rerender();
            }
          }, 3000);
          ctx.onDispose(() => clearInterval(timer));
        } catch (error) {
          note.textContent = errorMessage(error);
          button.disabled = false;
        }
      },
    },
    t("call.reanalyze"),
  );
  return h("div", { class: "reanalyze" }, button, note);
}

/** @param {Call} call */
function statusPanel(call) {
  return h(
    "section",
    { class: `card status-panel status-${call.status}`, "aria-labelledby": "status-title" },
    h("h2", { id: "status-title" }, t("call.status"), " ", statusBadge(call.status)),
    h("p", { id: "status-text" }, t(`statusLong.${call.status}`)),
    call.error
      ? h(
          "div",
          { class: "call-error" },
          h("p", {}, errorText(call.error.code)),
          h(
            "p",
            { class: "muted small" },
            `${t("call.errorDetails")}: ${call.error.code} — ${call.error.message}`,
          ),
        )
      : null,
    call.status === "awaiting_funds" ? h("p", {}, h("a", { href: "#/billing" }, t("call.topUp"))) : null,
  );
}

/** @param {Call} call */
function metaList(call) {
  const rows = [
    [t("call.started"), formatDateTime(call.startedAt)],
    [t("call.received"), formatDateTime(call.createdAt)],
    [t("call.operator"), operatorLabel(call.operator)],
    [t("call.client"), call.client.phone ?? "—"],
    [t("call.direction"), call.direction ? t(`direction.${call.direction}`) : "—"],
    [t("call.duration"), formatClock(call.durationSec)],
    [
      t("call.channels"),
      call.channels === null ? "—" : call.mono ? t("call.mono") : t("call.stereo", { n: call.channels }),
    ],
  ];
  if (call.externalId) rows.unshift([t("call.externalId"), call.externalId]);
  return h(
    "dl",
    { class: "meta" },
    rows.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]),
  );
}

/** @param {Call} call */
function metricsPanel(call) {
  const m = call.metrics;
  const body = m
    ? h(
        "dl",
        { class: "metrics", id: "metrics" },
        [
          [t("metric.talkRatio"), formatPercent(m.talkRatio), t("metric.talkRatioHint")],
          [t("metric.operatorTalk"), formatSeconds(m.operatorTalkSec)],
          [t("metric.clientTalk"), formatSeconds(m.clientTalkSec)],
          [t("metric.silence"), formatSeconds(m.silenceSec)],
          [t("metric.overlap"), formatSeconds(m.overlapSec)],
          [t("metric.interruptionsOperator"), formatNumber(m.interruptions.operator)],
          [t("metric.interruptionsClient"), formatNumber(m.interruptions.client)],
          [t("metric.longestMonologue"), formatSeconds(m.longestMonologueSec)],
          [t("metric.switches"), formatNumber(m.switchesPerMinute, 1)],
        ].map(([k, v, hint]) =>
          h(
            "div",
            { class: "metric" },
            h("dt", {}, k),
            h("dd", {}, v, hint ? h("span", { class: "hint block" }, hint) : null),
          ),
        ),
      )
    : h("p", { class: "muted", id: "metrics" }, call.mono ? t("metric.mono") : t("metric.none"));
  return h(
    "section",
    { class: "card", "aria-labelledby": "metrics-title" },
    h("h2", { id: "metrics-title" }, t("call.metrics")),
    body,
  );
}

/**
 * @param {Answer} answer
 * @param {Question["scale"]} scale
 */
function answerValue(answer, scale) {
  const v = answer.value;
  if (v === null || v === undefined) return h("span", { class: "value value-none" }, t("answer.none"));
  if (answer.type === "boolean")
    return h("span", { class: `value value-${v ? "yes" : "no"}` }, v ? t("answer.yes") : t("answer.no"));
  if (answer.type === "score") {
    return h(
      "span",
      { class: "value" },
      // A score question's value is a number (the answer type does not say so per type).
      scale
        ? t("answer.score", { v: formatNumber(/** @type {number} */ (v), 1), max: scale.max })
        : formatNumber(/** @type {number} */ (v), 1),
    );
  }
  return h("span", { class: "value" }, String(v));
}

/**
 * @param {Call} call
 * @param {Template[]} templates
 * @param {(sec: number) => void} seek
 * @param {Node | null} actions
 */
function answersPanel(call, templates, seek, actions) {
  // The template answer leaves its questions untyped (unknown[]); they are the questions it was saved with.
  /** @type {(templateId: string | null, key: string) => Question["scale"]} */
  const scaleOf = (templateId, key) =>
    /** @type {Question[] | undefined} */ (templates.find((tpl) => tpl.id === templateId)?.questions)?.find(
      (q) => q.key === key,
    )?.scale;
  const blocks = call.analysis.map((a) =>
    h(
      "section",
      { class: "analysis" },
      h(
        "h3",
        {},
        a.templateName,
        " ",
        h("span", { class: "muted small" }, `· ${tOr(`provider.${a.provider}`, a.provider)}`),
      ),
      a.status === "failed"
        ? h("p", { class: "call-error" }, errorText(a.error?.code ?? "ANALYSIS_FAILED"))
        : h(
            "ul",
            { class: "answers" },
            a.answers.map((answer) =>
              h(
                "li",
                { class: "answer", "data-key": answer.key },
                h("p", { class: "question" }, answer.question),
                answerValue(answer, scaleOf(a.templateId, answer.key)),
                answer.evidence.length
                  ? h(
                      "ul",
                      { class: "evidence", "aria-label": t("answer.evidence") },
                      answer.evidence.map((e) =>
                        h(
                          "li",
                          {},
                          h(
                            "button",
                            {
                              type: "button",
                              class: "evidence-link",
                              "data-start": String(e.startSec),
                              onClick: () => seek(e.startSec),
                            },
                            h("span", { class: "time" }, `▶ ${formatClock(e.startSec)}`),
                            " ",
                            h("span", { class: "speaker" }, `${t(`speaker.${e.speaker}`)}:`),
                            " ",
                            h("q", {}, e.text),
                          ),
                        ),
                      ),
                    )
                  : null,
              ),
            ),
          ),
    ),
  );
  return h(
    "section",
    { class: "card", "aria-labelledby": "answers-title" },
    h("h2", { id: "answers-title" }, t("call.answers")),
    actions,
    blocks.length
      ? blocks
      : h(
          "p",
          { class: "muted" },
          WORKING.has(call.status) ? t("answer.pending") : t("answer.noneTemplates"),
        ),
  );
}

/** @param {Call} call */
function costPanel(call) {
  const c = call.cost;
  return h(
    "section",
    { class: "card", "aria-labelledby": "cost-title" },
    h("h2", { id: "cost-title" }, t("call.cost")),
    c
      ? h(
          "div",
          { id: "cost" },
          h(
            "p",
            { class: "cost-line" },
            t("cost.formula", {
              minutes: c.minutes,
              price: formatMoney(c.pricePerMinute, c.currency),
              amount: formatMoney(c.amount, c.currency),
            }),
          ),
          h("p", { class: "muted" }, t(`cost.${c.status}`)),
        )
      : h("p", { class: "muted", id: "cost" }, t("cost.none")),
  );
}

/** @param {PageContext} ctx */
export async function callPage(ctx) {
  const id = ctx.params[0];
  const [call, templates] = await Promise.all([
    api.get("/api/v1/calls/{id}", { path: { id } }),
    api.get("/api/v1/templates").catch(() => ({ items: [] })),
  ]);

  // ---- player ----
  const audio = h("audio", {
    controls: true,
    preload: "metadata",
    id: "player",
    "aria-describedby": "dialogue-hint",
  });
  const playerNote = h("p", { class: "muted small", role: "status" });
  let linkExpiresAt = 0;
  let refreshing = false;
  const loadAudio = async () => {
    const { url, expiresAt } = await api.get("/api/v1/calls/{id}/audio", {
      path: { id },
      query: { redirect: "false" },
    });
    linkExpiresAt = new Date(expiresAt).getTime();
    audio.src = url;
  };
  // Links live a few minutes: when one has expired, fetch a fresh one and carry on where the player was.
  audio.addEventListener("error", async () => {
    if (refreshing || Date.now() < linkExpiresAt - 5000) {
      playerNote.textContent = t("player.error");
      return;
    }
    refreshing = true;
    const at = audio.currentTime;
    try {
      await loadAudio();
      audio.currentTime = at;
    } catch {
      playerNote.textContent = t("player.error");
    } finally {
      refreshing = false;
    }
  });
  let hasAudio = true;
  try {
    await loadAudio();
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 404)) throw error;
    hasAudio = false;
  }

  // ---- dialogue ----
  const segments = call.transcript?.segments ?? [];
  const dialogue = h("ol", { class: "dialogue", id: "dialogue" });
  const lineButtons = segments.map((s, i) =>
    h(
      "button",
      {
        type: "button",
        class: "line-button",
        "data-index": String(i),
        "data-start": String(s.startSec),
        "data-end": String(s.endSec),
        onClick: () => seek(s.startSec),
      },
      h("span", { class: "time" }, formatClock(s.startSec)),
      h("span", { class: "speaker" }, t(`speaker.${s.speaker}`)),
      h("span", { class: "text" }, s.text),
    ),
  );
  dialogue.append(...segments.map((s, i) => h("li", { class: `line speaker-${s.speaker}` }, lineButtons[i])));
  const dialogueBox = h("div", { class: "dialogue-box" }, dialogue);

  /** @type {Set<number>} */
  let current = new Set();
  const highlight = () => {
    const now = audio.currentTime;
    /** @type {Set<number>} */
    const next = new Set();
    segments.forEach((s, i) => {
      if (now >= s.startSec - TOLERANCE_SEC && now < s.endSec + TOLERANCE_SEC) next.add(i);
    });
    for (const i of current) if (!next.has(i)) lineButtons[i]?.parentElement?.classList.remove("current");
    for (const i of current) if (!next.has(i)) lineButtons[i]?.removeAttribute("aria-current");
    for (const i of next) {
      if (current.has(i)) continue;
      const button = lineButtons[i];
      button?.parentElement?.classList.add("current");
      button?.setAttribute("aria-current", "true");
      if (button?.parentElement && !audio.paused) keepVisible(button.parentElement);
    }
    current = next;
  };
  /** @param {HTMLElement} li */
  const keepVisible = (li) => {
    const top = li.offsetTop - dialogueBox.offsetTop;
    if (
      top < dialogueBox.scrollTop ||
      top + li.offsetHeight > dialogueBox.scrollTop + dialogueBox.clientHeight
    ) {
      dialogueBox.scrollTop = Math.max(0, top - 24);
    }
  };
  audio.addEventListener("timeupdate", highlight);
  audio.addEventListener("seeked", highlight);

  /** @param {number} sec */
  const seek = (sec) => {
    if (!hasAudio) return;
    audio.currentTime = sec;
    highlight();
    audio.play().catch(() => {
      // Playback can be refused (no audio device, autoplay rules); the position is still set.
    });
  };
  ctx.onDispose(() => {
    audio.pause();
    audio.removeAttribute("src");
    audio.load();
  });

  // Processing: look again every few seconds and show the report once it is ready.
  if (WORKING.has(call.status)) {
    const timer = setInterval(async () => {
      try {
        const fresh = await api.get("/api/v1/calls/{id}", { path: { id } });
        if (!ctx.isCurrent()) return;
        if (fresh.status !== call.status) {
          clearInterval(timer);
          ctx.announce(t(`statusLong.${fresh.status}`));
          ctx.rerender();
        }
      } catch {
        clearInterval(timer);
      }
    }, 3000);
    ctx.onDispose(() => clearInterval(timer));
  }

  const title = call.externalId
    ? t("call.titleWithId", { id: call.externalId })
    : t("call.title", { when: formatDateTime(call.startedAt ?? call.createdAt) });

  return h(
    "section",
    { class: "page call-page", "data-status": call.status },
    h("p", { class: "back" }, h("a", { href: "#/calls" }, `← ${t("call.back")}`)),
    h("div", { class: "page-head" }, h("h1", {}, title), statusBadge(call.status)),
    metaList(call),
    h(
      "div",
      { class: "columns" },
      h(
        "div",
        { class: "column-main" },
        h(
          "section",
          { class: "card player-card", "aria-labelledby": "player-title" },
          h("h2", { id: "player-title" }, t("call.recording")),
          hasAudio ? audio : h("p", { class: "muted" }, t("player.none")),
          playerNote,
          h("h2", { id: "dialogue-title" }, t("call.dialogue")),
          segments.length
            ? [h("p", { class: "hint", id: "dialogue-hint" }, t("dialogue.hint")), dialogueBox]
            : h(
                "p",
                { class: "muted", id: "dialogue-hint" },
                WORKING.has(call.status) ? t("dialogue.pending") : t("dialogue.none"),
              ),
        ),
      ),
      h(
        "div",
        { class: "column-side" },
        statusPanel(call),
        answersPanel(call, templates.items, seek, reanalyzeControl(ctx, call)),
        metricsPanel(call),
        costPanel(call),
      ),
    ),
  );
}
