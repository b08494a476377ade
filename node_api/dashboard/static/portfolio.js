// The portfolio page: this bank's book from GET /v1/portfolio (the node's index, no chain
// call): totals, loans by state, the loan-to-value spread, open alerts by age, and the
// overdue and defaulted shares of the book at each day's end.
"use strict";

// An amount in minor units with its currency: 1000000, "CNY" -> "10,000.00 CNY".
function amount(minor, currency) {
  return `${fmt.money(minor)} ${currency}`;
}

// The width of a chart spanning the page, in the viewBox's units: one per CSS pixel, so
// its text keeps the size of the other charts' at any width.
function fullWidth() {
  const main = document.getElementById("main");
  return Math.max(320, Math.min(1400, main.clientWidth - 70));
}

function figure(id, label, value, note) {
  return h("div", { class: "card figure" }, h("div", { class: "figure-label" }, label),
    h("div", { class: "figure-value", id }, value), note ? h("div", { class: "muted" }, note) : null);
}

async function portfolioView(_param, me) {
  const book = await api.get("/v1/portfolio?days=90");
  const cur = book.currency;
  const last = book.rates[book.rates.length - 1];
  const states = book.by_state.filter((row) => row.loans > 0);
  const width = fullWidth();
  return h("div", { class: "portfolio" },
    h("h1", {}, `Portfolio of ${me.institution.name || fmt.short(book.bank)}`),
    h("p", { class: "muted", id: "portfolio-as-of" },
      `As of ${fmt.time(book.as_of)} (indexed block ${book.indexed_block ?? "—"}). Amounts in ${cur}; `
      + "the book is the loans disbursed and not ended (Active, Overdue, Defaulted)."),
    h("div", { class: "figures", id: "portfolio-cards" },
      figure("portfolio-loans", "Loans", book.totals.loans, "in every state"),
      figure("portfolio-book", "On the book", book.totals.book_loans, "Active, Overdue, Defaulted"),
      figure("portfolio-exposure", "Exposure", amount(book.totals.exposure, cur), "principal − repaid"),
      figure("portfolio-overdue", "Overdue / defaulted",
        last ? `${fmt.bps(last.overdue_share_bps)} / ${fmt.bps(last.defaulted_share_bps)}` : "—",
        "of the book's loans, now"),
      figure("portfolio-alerts", "Open alerts", book.alerts.open, `${book.alerts.unreviewed} unreviewed`)),
    section("By loan state", states.length ? table([
      { title: "State", value: (r) => h("span", { class: `state ${r.state.toLowerCase()}` }, r.state) },
      { title: "Loans", value: (r) => r.loans },
      { title: "Principal", value: (r) => amount(r.principal, cur) },
      { title: "Outstanding", value: (r) => amount(r.outstanding, cur) },
      { title: "Exposure", value: (r) => amount(r.exposure, cur) },
    ], states, { id: "portfolio-states" }) : notice("This bank has no loan yet."),
    notice(book.segments === null ? `By segment: ${book.segments_note}` : "", "warn")),
    section("Loan-to-value of the book", barChart({
      id: "ltv-chart", width, counts: true,
      title: "Loans of the book by outstanding / the vehicle's latest estimated value",
      labels: book.loan_to_value.buckets.map((b) => b.bucket),
      series: [{ name: "Loans", cls: "value", values: book.loan_to_value.buckets.map((b) => b.loans) }],
    }), table([
      { title: "Loan-to-value", value: (b) => b.bucket },
      { title: "Loans", value: (b) => b.loans },
      { title: "Exposure", value: (b) => amount(b.exposure, cur) },
    ], [...book.loan_to_value.buckets, { bucket: "no valuation",
      loans: book.loan_to_value.no_valuation_loans, exposure: book.loan_to_value.no_valuation_exposure }],
    { id: "ltv-table" })),
    section("Open alerts by age", table([
      { title: "Since raised", value: (b) => b.bucket },
      { title: "Open", value: (b) => b.alerts },
      { title: "Unreviewed", value: (b) => b.unreviewed },
    ], book.alerts.by_age, { id: "alert-ages" }), h("a", { href: "#/alerts" }, "Review queue")),
    section("Overdue and default rates", book.rates.length ? lineChart({
      id: "rates-chart", width, unit: "%", max: 10,
      title: `Share of the book Overdue and Defaulted at each day's end, last ${book.rates.length} days`,
      labels: book.rates.map((d) => d.date),
      series: [
        { name: "Overdue (loans)", cls: "overdue", values: book.rates.map((d) => pct(d.overdue_share_bps)) },
        { name: "Overdue (exposure)", cls: "overdue exposure", values: book.rates.map((d) => pct(d.overdue_exposure_share_bps)) },
        { name: "Defaulted (loans)", cls: "defaulted", values: book.rates.map((d) => pct(d.defaulted_share_bps)) },
        { name: "Defaulted (exposure)", cls: "defaulted exposure", values: book.rates.map((d) => pct(d.defaulted_exposure_share_bps)) },
      ],
    }) : notice("Nothing indexed yet.")));
}

function pct(bps) {
  return bps === null ? null : bps / 100;
}
