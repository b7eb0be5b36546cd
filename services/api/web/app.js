// The walking skeleton's web app: sign in, the calls list, one call's report with its audio.
// Issue #6 replaces it with the full managers' and owners' app.
const $ = (id) => document.getElementById(id);
const state = { token: sessionStorage.getItem("tyndau.token") };

async function api(path, options = {}) {
  const res = await fetch(path, {
    ...options,
    headers: {
      "content-type": "application/json",
      ...(state.token ? { authorization: `Bearer ${state.token}` } : {}),
    },
  });
  if (res.status === 401) {
    signOut();
    throw new Error("Please sign in again.");
  }
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.error?.message ?? `HTTP ${res.status}`);
  return body;
}

function signOut() {
  state.token = null;
  sessionStorage.removeItem("tyndau.token");
  location.hash = "#/signin";
}

const fmtTime = (s) => `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, "0")}`;
const statusText = {
  received: "Received, waiting to be processed",
  awaiting_funds: "Waiting for a top-up",
  processing: "Processing",
  done: "Done",
  failed: "Failed",
};

function show(section) {
  for (const id of ["signin", "calls", "call"]) $(id).hidden = id !== section;
}

function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  for (const c of children) node.append(c);
  return node;
}

async function renderCalls() {
  show("calls");
  const me = await api("/api/v1/me");
  $("who").textContent = `${me.user.email} · ${me.account.company}`;
  if (me.user.role === "owner") {
    const b = await api("/api/v1/billing/balance");
    $("balance").textContent = `Balance: ${b.available} ${b.currency} available (bonus ${b.bonus})`;
  }
  const { items } = await api("/api/v1/calls?limit=100");
  const body = $("calls-body");
  body.replaceChildren(
    ...items.map((c) => {
      const row = el(
        "tr",
        { className: "link", tabIndex: 0 },
        el("td", { textContent: new Date(c.createdAt).toLocaleString() }),
        el("td", { textContent: c.operator.name ?? c.operator.externalId ?? "—" }),
        el("td", { textContent: c.direction ?? "—" }),
        el("td", { textContent: c.durationSec == null ? "—" : fmtTime(c.durationSec) }),
        el("td", { textContent: statusText[c.status] ?? c.status }),
      );
      const open = () => (location.hash = `#/calls/${c.id}`);
      row.addEventListener("click", open);
      row.addEventListener("keydown", (e) => e.key === "Enter" && open());
      return row;
    }),
  );
  if (items.length === 0)
    body.replaceChildren(el("tr", {}, el("td", { colSpan: 5, textContent: "No calls yet." })));
}

async function renderCall(id) {
  show("call");
  const call = await api(`/api/v1/calls/${id}`);
  $("call-title").textContent = `Call ${call.externalId ?? call.id} · ${call.operator.name ?? ""}`;
  $("call-status").textContent =
    (statusText[call.status] ?? call.status) +
    (call.error ? ` — ${call.error.message}` : "") +
    (call.mono ? " · mono recording: speakers cannot be told apart" : "");
  const player = $("player");
  // A short-lived signed link (the audio element cannot send the bearer token itself).
  const audio = await api(`/api/v1/calls/${id}/audio?redirect=false`);
  player.src = audio.url;
  const segments = call.transcript?.segments ?? [];
  const items = segments.map((s) => {
    const li = el(
      "li",
      { className: s.speaker, tabIndex: 0 },
      el("time", { textContent: fmtTime(s.startSec) }),
      `${s.speaker}: ${s.text}`,
    );
    const seek = () => {
      player.currentTime = s.startSec;
      player.play().catch(() => {});
    };
    li.addEventListener("click", seek);
    li.addEventListener("keydown", (e) => e.key === "Enter" && seek());
    return li;
  });
  $("dialogue").replaceChildren(...items);
  player.ontimeupdate = () => {
    for (const [i, s] of segments.entries()) {
      items[i].classList.toggle("current", player.currentTime >= s.startSec && player.currentTime < s.endSec);
    }
  };
  const m = call.metrics;
  $("metrics").replaceChildren(
    ...(m
      ? [
          ["Operator talk", `${m.operatorTalkSec} s`],
          ["Client talk", `${m.clientTalkSec} s`],
          ["Talk ratio", `${Math.round(m.talkRatio * 100)}% operator`],
          ["Silence", `${m.silenceSec} s`],
          ["Overlap", `${m.overlapSec} s`],
          ["Interruptions", `operator ${m.interruptions.operator}, client ${m.interruptions.client}`],
          ["Longest monologue", `${m.longestMonologueSec} s`],
          ["Switches per minute", String(m.switchesPerMinute)],
        ].flatMap(([k, v]) => [el("dt", { textContent: k }), el("dd", { textContent: v })])
      : [el("dd", { textContent: "Not available for this call." })]),
  );
  $("answers").replaceChildren(
    ...call.analysis.flatMap((a) => [
      el("h3", { textContent: `${a.templateName} (${a.provider})` }),
      ...a.answers.map((ans) => {
        const value =
          ans.value === true
            ? el("span", { className: "yes", textContent: "Yes" })
            : ans.value === false
              ? el("span", { className: "no", textContent: "No" })
              : String(ans.value ?? "—");
        const ev = ans.evidence[0]
          ? ` — “${ans.evidence[0].text}” at ${fmtTime(ans.evidence[0].startSec)}`
          : "";
        return el("p", { className: "answer" }, `${ans.question} `, value, ev);
      }),
    ]),
  );
}

async function route() {
  try {
    if (!state.token) return show("signin");
    const match = /^#\/calls\/([0-9a-f-]{36})$/.exec(location.hash);
    if (match) return await renderCall(match[1]);
    return await renderCalls();
  } catch (e) {
    console.error(e);
  }
}

$("signin-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const form = new FormData(e.target);
  try {
    const res = await api("/api/v1/auth/login", {
      method: "POST",
      body: JSON.stringify(Object.fromEntries(form)),
    });
    state.token = res.token;
    sessionStorage.setItem("tyndau.token", res.token);
    location.hash = "#/calls";
    route();
  } catch (err) {
    $("signin-error").textContent = err.message;
  }
});
$("refresh").addEventListener("click", route);
window.addEventListener("hashchange", route);
route();
