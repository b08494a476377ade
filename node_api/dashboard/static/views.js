// The pages. Each takes the route's parameter and the signed-in caller (`me`, from /v1/me)
// and resolves to a DOM node. Write controls are only ever built for roles that may use
// them: an auditor's pages contain none.
"use strict";

const LOAN_STATES = ["Applied", "Approved", "Active", "Overdue", "Defaulted", "Liquidated",
  "Repaid", "Closed", "Rejected", "Cancelled", "Expired", "Released"];
const DECISIONS = ["confirmed_risk", "false_positive", "escalated"];
// Lifecycle actions an officer may take from each state (LoanManager's transitions).
const LOAN_ACTIONS = {
  Applied: ["approve", "reject", "cancel"],
  Approved: ["activate", "cancel", "expire"],
  Active: ["sync-rate", "mark-overdue"],
  Overdue: ["sync-rate", "mark-defaulted"],
  Repaid: ["close"],
};

async function optional(path) {
  try {
    return await api.get(path);
  } catch (error) {
    if (error.status === 404 || error.status === 405) return null;
    throw error;
  }
}

// An event argument as shown: a loan state by its name, long values shortened.
function argText(event, name, value) {
  if (event === "LoanStateChanged" && (name === "from" || name === "to")) {
    return ["None", ...LOAN_STATES][Number(value)] ?? String(value);
  }
  return String(value).length > 20 ? fmt.short(String(value)) : value;
}

function timeline(events) {
  if (!events || !events.length) return notice("No events indexed yet.");
  return h("ol", { class: "timeline", id: "timeline" }, events.map((e) => h("li", {},
    h("div", { class: "event-name" }, `${e.contract} · ${e.event}`),
    h("div", { class: "event-meta" }, `block ${e.block_number} · ${fmt.time(e.block_time)} · tx `,
      hash(e.tx_hash)),
    h("div", { class: "event-args" }, Object.entries(e.args || {})
      .map(([k, v]) => `${k}=${argText(e.event, k, v)}`).join("  ")))));
}

// ---- vehicles ------------------------------------------------------------------------

async function vehiclesView() {
  const input = h("input", { id: "vin-search", name: "vin", placeholder: "VIN (17 characters)",
    autocomplete: "off", required: true, maxlength: 17 });
  const form = h("form", { class: "search", id: "vehicle-search",
    onsubmit: (ev) => { ev.preventDefault(); location.hash = `#/vehicle/${input.value.trim().toUpperCase()}`; } },
  input, h("button", { type: "submit" }, "Search"));
  const page = await api.get("/v1/vehicles?limit=200");
  const rows = page.items.slice().reverse();
  return h("div", {}, section("Find a vehicle", form),
    section(`Registered vehicles (${page.total})`, table([
      { title: "VIN", value: (v) => (v.vin ? h("a", { href: `#/vehicle/${v.vin}` }, v.vin) : h("span", { class: "muted" }, "other member's")) },
      { title: "Vehicle id", value: (v) => hash(v.vehicle_id) },
      { title: "Registered", value: (v) => fmt.time(v.registered_at) },
      { title: "Appraisal", value: (v) => fmt.money(v.appraisal_value_at_registration) },
      { title: "Lien", value: (v) => (v.has_lien ? "yes" : "no") },
    ], rows)));
}

async function vehicleView(vin) {
  const vehicle = await api.get(`/v1/vehicles/${encodeURIComponent(vin)}`);
  const [history, audit, documents] = await Promise.all([
    api.get(`/v1/vehicles/${encodeURIComponent(vin)}/conditions`),
    optional(`/v1/audit/vehicles/${encodeURIComponent(vin)}/history`),
    optional(`/v1/vehicles/${encodeURIComponent(vin)}/documents`),
  ]);
  const condition = vehicle.condition;
  const lien = vehicle.lien;
  return h("div", { class: "vehicle-page" },
    h("h1", {}, `Vehicle ${vehicle.vin}`),
    h("div", { class: "grid" },
      section("Registry", facts([
        ["Vehicle id", hash(vehicle.vehicle_id)],
        ["Registered by", hash(vehicle.registered_by)],
        ["Registered", fmt.time(vehicle.registered_at)],
        ["Owner commitment", hash(vehicle.owner_commitment)],
        ["Appraisal", `${fmt.money(vehicle.appraisal.value)} (${fmt.time(vehicle.appraisal.appraised_at)})`],
      ])),
      section("Lien", lien ? facts([
        ["Bank", hash(lien.bank)],
        ["Loan", h("a", { href: `#/loan/${lien.loan_id}` }, `#${lien.loan_id}`)],
        ["Active", lien.active ? "yes" : "no"],
        ["Placed", fmt.time(lien.placed_at)],
      ]) : notice("No lien.")),
      valueCard(vehicle, history)),
    scoreSection(history),
    indicatorSection(history),
    documentsSection(audit, documents),
    section("Event timeline", timeline(audit && audit.events),
      audit ? null : notice("The audit history endpoint is not available on this node.", "warn")));
}

function valueCard(vehicle, history) {
  const condition = vehicle.condition;
  if (!condition) return section("Value", notice("No score reported yet."));
  const ratio = (condition.estimated_value * 10000) / vehicle.appraisal.value;
  const below = ratio < history.threshold_bps;
  return section("Estimated value vs appraisal", facts([
    ["Estimated value", fmt.money(condition.estimated_value)],
    ["Appraisal", fmt.money(vehicle.appraisal.value)],
    ["Value / appraisal", h("span", { id: "value-ratio", class: below ? "bad" : "good" }, fmt.bps(ratio))],
    ["Alert threshold", `${fmt.bps(history.threshold_bps)} = ${fmt.money(history.threshold_value)}`],
    ["Latest score", `${condition.score} / 10000 (round ${condition.round_id})`],
    ["Updated", fmt.time(condition.updated_at)],
  ]));
}

function scoreSection(history) {
  const points = history.points;
  if (!points.length) return section("Condition history", notice("No score reported yet."));
  const labels = points.map((p) => `r${p.round_id}`);
  const chart = lineChart({
    id: "score-chart",
    title: "Condition score and value, in % (score of 10000; value of the appraisal)",
    labels,
    unit: "%",
    max: 100,
    series: [
      { name: "Value / appraisal", cls: "value", values: points.map((p) => p.value_ratio_bps / 100) },
      { name: "Score", cls: "score", values: points.map((p) => p.score / 100) },
    ],
    threshold: { value: history.threshold_bps / 100, label: `alert threshold ${fmt.bps(history.threshold_bps)} of appraisal` },
  });
  return section("Condition history", chart, table([
    { title: "Round", value: (p) => p.round_id },
    { title: "Observed", value: (p) => fmt.time(p.observed_at) },
    { title: "Score", value: (p) => p.score },
    { title: "Value", value: (p) => fmt.money(p.estimated_value) },
    { title: "Of appraisal", value: (p) => h("span", { class: p.below_threshold ? "bad" : "" }, fmt.bps(p.value_ratio_bps)) },
    { title: "Model", value: (p) => h("span", { title: p.model_version }, p.model_status === "known" ? fmt.short(p.model_version) : "model unknown") },
    { title: "Tx", value: (p) => hash(p.transaction_hash) },
  ], points.slice().reverse()));
}

function indicatorSection(history) {
  const latest = history.points[history.points.length - 1];
  if (!latest) return null;
  const known = latest.model_status === "known";
  const items = latest.indicators.map((ind) => ({
    label: fmt.label(ind.name),
    value: known ? ind.contribution : ind.value,
    note: known ? `${ind.contribution} = ${ind.value} × ${fmt.bps(ind.weight_bps)}` : `${ind.value}`,
  }));
  const max = Math.max(1, ...items.map((i) => i.value));
  return section(known ? `Indicator contributions to the latest score (${latest.score})` : "Indicators of the latest score",
    known ? null : notice("model unknown: this node does not have the model of this version, so only the raw indicator values are shown.", "warn"),
    hbarChart({ id: "indicator-chart", title: "The 12 indicators of the latest score", items, max }));
}

// The body of GET /v1/documents/{cid}/verification: one status per anchor of the CID.
function verificationText(v) {
  if (!v) return "—";
  const statuses = (v.documents || []).map((d) => d.status);
  return statuses.length ? [...new Set(statuses)].join(", ") : "not anchored";
}

function documentsSection(audit, documents) {
  const fromAudit = audit && audit.documents;
  if (fromAudit) {
    return section("Documents", fromAudit.length ? table([
      { title: "Type", value: (d) => d.doc_type },
      { title: "CID", value: (d) => hash(d.cid) },
      { title: "Verification", value: (d) => h("span", { class: "verification" }, verificationText(d.verification)) },
    ], fromAudit, { id: "documents-table" }) : notice("No documents."));
  }
  const items = (documents && documents.items) || [];
  return section("Documents", items.length ? table([
    { title: "Type", value: (d) => d.doc_type },
    { title: "CID", value: (d) => hash(d.cid) },
    { title: "Issued", value: (d) => fmt.time(d.issued_at) },
    { title: "Verification", value: (d) => {
      const cell = h("span", { class: "verification" }, d.revoked ? "revoked" : "…");
      if (!d.revoked) {
        api.get(`/v1/documents/${encodeURIComponent(d.cid)}/verification`)
          .then((v) => { cell.textContent = verificationText(v); })
          .catch((e) => { cell.textContent = e.message; });
      }
      return cell;
    } },
  ], items, { id: "documents-table" }) : notice("No documents."));
}

// ---- loans ---------------------------------------------------------------------------

async function loansView(_param, me, query) {
  const state = query.get("state") || "";
  const select = h("select", { id: "loan-state", name: "state",
    onchange: () => { location.hash = select.value ? `#/loans?state=${select.value}` : "#/loans"; } },
  h("option", { value: "" }, "All states"),
  LOAN_STATES.map((name) => h("option", { value: name.toLowerCase(), selected: name.toLowerCase() === state }, name)));
  const page = await api.get(`/v1/loans?limit=200${state ? `&state=${encodeURIComponent(state)}` : ""}`);
  return section(`Loans (${page.total})`, h("label", { class: "filter" }, "State ", select), table([
    { title: "Loan", value: (l) => h("a", { href: `#/loan/${l.loan_id}` }, `#${l.loan_id}`) },
    { title: "State", value: (l) => h("span", { class: `state ${l.state.toLowerCase()}` }, l.state) },
    { title: "Principal", value: (l) => fmt.money(l.principal) },
    { title: "Outstanding", value: (l) => fmt.money(l.outstanding) },
    { title: "Rate", value: (l) => fmt.bps(l.rate_bps) },
    { title: "Repaid", value: (l) => fmt.money(l.repaid) },
    { title: "Applied", value: (l) => fmt.time(l.applied_at) },
  ], page.items.slice().reverse(), { id: "loans-table" }));
}

async function loanView(loanId, me) {
  const [loan, audit, params] = await Promise.all([
    api.get(`/v1/loans/${encodeURIComponent(loanId)}`),
    optional(`/v1/audit/loans/${encodeURIComponent(loanId)}/history`),
    api.get("/v1/dashboard/parameters"),
  ]);
  const vin = audit && audit.vin;
  const vehicle = vin ? await optional(`/v1/vehicles/${encodeURIComponent(vin)}`) : null;
  return h("div", { class: "loan-page" },
    h("h1", {}, `Loan #${loan.loan_id}`),
    h("div", { class: "grid" },
      section("Terms", facts([
        ["State", h("span", { class: `state ${loan.state.toLowerCase()}`, id: "loan-state-value" }, loan.state)],
        ["Vehicle", vin ? h("a", { href: `#/vehicle/${vin}` }, vin) : hash(loan.vehicle_id)],
        ["Bank", hash(loan.bank)],
        ["Principal", fmt.money(loan.principal)],
        ["Repaid", fmt.money(loan.repaid)],
        ["Outstanding", fmt.money(loan.outstanding)],
        ["Loan-to-value", h("span", { id: "ltv" }, fmt.bps(loan.loan_to_value_bps))],
        ["Applied", fmt.time(loan.applied_at)],
        ["Activated", fmt.time(loan.activated_at)],
        ["Next due", fmt.time(loan.next_due_date)],
      ])),
      rateCard(loan, params, vehicle),
      me.can_write ? loanActions(loan) : null),
    section("Lifecycle", timeline(audit && audit.events),
      audit ? null : notice("The audit history endpoint is not available on this node.", "warn")));
}

function rateCard(loan, params, vehicle) {
  const score = vehicle && vehicle.condition ? vehicle.condition.score : null;
  const steps = score === null ? null : Math.floor(Math.max(0, loan.baseline_score - score) / params.rate_step_bps);
  return section("Rate and condition", facts([
    ["Base rate", fmt.bps(loan.base_rate_bps)],
    ["Applied rate", fmt.bps(loan.applied_rate_bps)],
    ["Current rate", h("strong", { id: "current-rate" }, fmt.bps(loan.current_rate_bps))],
    ["Baseline score", loan.baseline_score],
    ["Latest score", score === null ? "—" : score],
  ]), h("p", { class: "explain", id: "rate-explained" },
    `The rate follows the vehicle's condition: for every ${params.rate_step_bps} points the score falls below `
    + `the baseline of ${loan.baseline_score}, the rate rises by ${fmt.bps(params.rate_increase_bps)} of the base rate `
    + "(rate = base × (1 + steps × increase)). Only a score younger than the heartbeat "
    + `(${Math.round(params.heartbeat_s / 3600)} h) counts; without one the last applied rate stays. `
    + "The rate is re-applied on every lifecycle action and on sync-rate.",
    steps === null ? "" : ` Now: ${steps} step(s) → ${fmt.bps(loan.base_rate_bps * (10000 + steps * params.rate_increase_bps) / 10000)}.`));
}

function loanActions(loan) {
  const actions = LOAN_ACTIONS[loan.state] || [];
  const status = h("p", { class: "status", id: "loan-action-status" });
  const run = async (action) => {
    status.textContent = `${action}…`;
    try {
      const done = await api.post(`/v1/loans/${loan.loan_id}/${action}`);
      status.textContent = `${action} recorded in block ${done.block_number} (tx ${fmt.short(done.transaction_hash)})`;
      setTimeout(() => window.dispatchEvent(new HashChangeEvent("hashchange")), 600);
    } catch (error) {
      status.textContent = error.message;
    }
  };
  return section("Actions", actions.length
    ? h("div", { class: "actions" }, actions.map((action) => h("button", {
      type: "button", class: "write-control", "data-action": action, onclick: () => run(action),
    }, fmt.label(action.replace("-", "_")))))
    : notice("No lifecycle action from this state."), status);
}

// ---- alerts --------------------------------------------------------------------------

async function alertsView(_param, me) {
  const page = await api.get("/v1/alerts?limit=200");
  // Only the lending bank reviews its alert: the others' open alerts are listed apart, read-only.
  const ours = (a) => a.bank === me.institution.address;
  const open = page.items.filter((a) => !a.review && ours(a));
  const othersOpen = page.items.filter((a) => !a.review && !ours(a));
  const reviewed = page.items.filter((a) => a.review);
  return h("div", {},
    section(`Open alerts of this bank (${open.length})`, open.length
      ? h("div", { class: "alert-list" }, open.reverse().map((a) => alertCard(a, me)))
      : notice("No alert of this bank waits for a review.")),
    othersOpen.length
      ? section(`Open alerts of other banks (${othersOpen.length}, reviewed by their lenders)`,
        h("div", { class: "alert-list", id: "others-alerts" },
          othersOpen.reverse().map((a) => alertCard(a, { ...me, can_review: false }))))
      : null,
    section(`Reviewed (${reviewed.length})`, table([
      { title: "Alert", value: (a) => `#${a.alert_id}` },
      { title: "Decision", value: (a) => h("span", { class: "decision" }, fmt.label(a.review.decision)) },
      { title: "Reviewed", value: (a) => fmt.time(a.review.reviewed_at) },
      { title: "Reviewer", value: (a) => a.review.reviewer || hash(a.review.reviewer_ref, "salted commitment to the reviewer's staff reference (the reviewing bank's node shows who)") },
      { title: "Comment", value: (a) => a.review.comment || h("span", { class: "muted" }, "kept by the reviewing bank") },
      { title: "Status", value: (a) => a.status },
    ], reviewed.reverse(), { id: "reviewed-alerts" })));
}

function alertCard(alert, me) {
  const ratio = (alert.value * 10000) / alert.appraisal;
  return h("article", { class: "alert-card", "data-alert-id": alert.alert_id },
    h("h3", {}, `Alert #${alert.alert_id} · loan `, h("a", { href: `#/loan/${alert.loan_id}` }, `#${alert.loan_id}`)),
    facts([
      ["Vehicle", alert.vin ? h("a", { href: `#/vehicle/${alert.vin}` }, alert.vin) : hash(alert.vehicle_id)],
      ["Value", `${fmt.money(alert.value)} = ${fmt.bps(ratio)} of ${fmt.money(alert.appraisal)}`],
      ["Threshold", fmt.bps(alert.threshold_bps)],
      ["Raised", `${fmt.time(alert.raised_at)} (round ${alert.round_id})`],
      ["Status", alert.status],
    ]),
    me.can_review ? reviewForm(alert) : null);
}

function reviewForm(alert) {
  // No decision is preselected: the reviewer chooses one, or the form is not sent.
  const decision = h("select", { name: "decision", class: "write-control", required: true },
    h("option", { value: "", disabled: true, selected: true }, "Choose a decision…"),
    DECISIONS.map((d) => h("option", { value: d }, fmt.label(d))));
  const comment = h("textarea", { name: "comment", class: "write-control", required: true, maxlength: 4000,
    rows: 2, placeholder: "Comment (kept on this node; its hash goes on-chain)" });
  const status = h("p", { class: "status" });
  const form = h("form", { class: "review-form write-control", onsubmit: async (ev) => {
    ev.preventDefault();
    status.textContent = "Recording the review on-chain…";
    try {
      const done = await api.post(`/v1/alerts/${alert.alert_id}/review`,
        { decision: decision.value, comment: comment.value });
      status.textContent = `Reviewed: recorded in block ${done.block_number}, tx ${done.transaction_hash}`;
      status.classList.add("recorded");
      setTimeout(() => window.dispatchEvent(new HashChangeEvent("hashchange")), 1500);
    } catch (error) {
      status.textContent = error.message;
    }
  } }, h("label", {}, "Decision ", decision), comment,
  h("button", { type: "submit", class: "write-control" }, "Record review"), status);
  return form;
}

// ---- consortium ----------------------------------------------------------------------

function actionText(action) {
  if (!action) return "—";
  const what = action.key_name || (action.key && !/^0x0+$/.test(action.key) ? fmt.short(action.key) : "");
  const who = action.account && !/^0x0+$/.test(action.account) ? fmt.short(action.account) : "";
  return [action.action_type, who, what, action.value && action.value !== "0" ? `= ${action.value}` : ""]
    .filter(Boolean).join(" ");
}

async function consortiumView(proposalId) {
  const [members, proposals] = await Promise.all([
    optional("/v1/consortium/members"), optional("/v1/consortium/proposals?limit=200")]);
  const list = (x) => (Array.isArray(x) ? x : (x && x.items) || []);
  const parts = [
    section("Members", members ? table([
      { title: "Name", value: (m) => m.name || "—" },
      { title: "Kind", value: (m) => m.kind },
      { title: "Status", value: (m) => m.status },
      { title: "Address", value: (m) => hash(m.address) },
      { title: "Joined", value: (m) => fmt.time(m.joined_at) },
    ], list(members), { id: "members-table" }) : notice("The consortium endpoints are not available on this node.", "warn")),
    section("Proposals", proposals ? table([
      { title: "Proposal", value: (p) => h("a", { href: `#/consortium/${p.proposal_id}` }, `#${p.proposal_id}`) },
      { title: "Action", value: (p) => actionText(p.action) },
      { title: "Status", value: (p) => p.status },
      { title: "Votes for / against", value: (p) => `${p.votes_for} / ${p.votes_against}` },
      { title: "Proposer", value: (p) => hash(p.proposer) },
      { title: "Deadline", value: (p) => fmt.time(p.deadline) },
      { title: "Created", value: (p) => [`block ${p.created_block} · `, hash(p.created_tx_hash)] },
    ], list(proposals), { id: "proposals-table" }) : notice("No proposals endpoint.", "warn")),
  ];
  if (proposalId) {
    const p = await api.get(`/v1/consortium/proposals/${encodeURIComponent(proposalId)}`);
    parts.unshift(section(`Proposal #${p.proposal_id}: ${actionText(p.action)}`,
      facts([
        ["Status", p.status],
        ["Proposer", hash(p.proposer)],
        ["Deadline", fmt.time(p.deadline)],
        ["Created", [`block ${p.created_block} · `, hash(p.created_tx_hash)]],
        ["Executed", p.executed_block ? [`block ${p.executed_block} · `, hash(p.executed_tx_hash)] : "—"],
      ]),
      h("h3", {}, `Votes (${(p.votes || []).length})`),
      table([
        { title: "Voter", value: (v) => hash(v.voter) },
        { title: "Vote", value: (v) => (v.support ? "for" : "against") },
        { title: "When", value: (v) => fmt.time(v.block_time) },
        { title: "Block / tx", value: (v) => [`${v.block_number} · `, hash(v.tx_hash)] },
      ], p.votes || [], { id: "votes-table" })));
  }
  return h("div", {}, parts);
}

// ---- monitoring ----------------------------------------------------------------------

async function monitoringView() {
  const data = await api.get("/v1/monitoring/daily?days=30");
  const days = data.days;
  const labels = days.map((d) => d.date.slice(5));
  const st = data.stability;
  return h("div", { class: "monitoring" },
    h("div", { class: "chart-grid" },
      section("Overdue rate", lineChart({ id: "overdue-chart", title: "Overdue loans / (active + overdue), end of day",
        labels, unit: "%", max: 10,
        series: [{ name: "Overdue rate", cls: "value", values: days.map((d) => (d.overdue_rate === null ? null : d.overdue_rate * 100)) }] })),
      section("Processing time", barChart({ id: "processing-chart", title: "Mean hours from application to activation",
        labels, unit: " h", series: [{ name: "Hours to activation", cls: "score", values: days.map((d) => d.processing_time_hours) }] })),
      section("Alerts", barChart({ id: "alerts-chart", title: "Alerts raised and reviewed per day", labels,
        series: [
          { name: "Raised", cls: "raised", values: days.map((d) => d.alerts_raised) },
          { name: "Reviewed", cls: "reviewed", values: days.map((d) => d.alerts_reviewed) },
        ] })),
      section("System stability", facts([
        ["Up since", fmt.time(st.started_at)],
        ["Uptime", `${(st.uptime_s / 3600).toFixed(2)} h`],
        ["Chain head", st.chain_head ?? "—"],
        ["Indexed block", st.indexed_block ?? "—"],
        ["Indexer lag", h("span", { id: "indexer-lag" }, `${st.indexer_lag_blocks ?? "—"} blocks`)],
        ["Reorgs / read errors", `${st.reorgs_total} / ${st.read_errors_total}`],
      ]), lineChart({ id: "lag-chart", title: "Indexer lag (blocks), sampled at each visit since start-up",
        labels: st.samples.map((x) => x.at.slice(11, 16)), max: 5,
        series: [{ name: "Indexer lag", cls: "score", values: st.samples.map((x) => x.indexer_lag_blocks) }] }))),
    section("Per day", table([
      { title: "Day", value: (d) => d.date },
      { title: "Applied", value: (d) => d.loans_applied },
      { title: "Activated", value: (d) => d.loans_activated },
      { title: "Hours to activation", value: (d) => d.processing_time_hours ?? "—" },
      { title: "Active / overdue", value: (d) => `${d.loans_active} / ${d.loans_overdue}` },
      { title: "Alerts raised / reviewed", value: (d) => `${d.alerts_raised} / ${d.alerts_reviewed}` },
    ], days.filter((d) => d.loans_applied || d.loans_activated || d.alerts_raised || d.alerts_reviewed).reverse())));
}
