// DOM helpers, the API client and formatting. Text always goes in as text nodes, never as
// HTML: values from the chain or from other members cannot inject markup.
"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";
const KEY_STORAGE = "vcl.apiKey";

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

function setAttrs(el, attrs) {
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else el.setAttribute(name, value === true ? "" : String(value));
  }
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

const api = {
  key() {
    return sessionStorage.getItem(KEY_STORAGE);
  },
  async request(method, path, body) {
    const headers = { Authorization: `Bearer ${api.key() || ""}` };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch (_) {
      data = { message: text };
    }
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  },
  get(path) {
    return api.request("GET", path);
  },
  post(path, body) {
    return api.request("POST", path, body);
  },
};

const fmt = {
  money(minor) {
    if (minor === null || minor === undefined) return "—";
    return (Number(minor) / 100).toLocaleString("en-US", {
      minimumFractionDigits: 2,
      maximumFractionDigits: 2,
    });
  },
  bps(value) {
    return value === null || value === undefined ? "—" : `${(Number(value) / 100).toFixed(2)} %`;
  },
  time(iso) {
    return iso ? iso.replace("T", " ").replace("Z", " UTC") : "—";
  },
  short(hex) {
    return hex && hex.length > 14 ? `${hex.slice(0, 8)}…${hex.slice(-6)}` : hex || "—";
  },
  label(text) {
    return String(text).replace(/_/g, " ");
  },
};

// A definition list from [label, value] pairs.
function facts(pairs) {
  return h(
    "dl",
    { class: "facts" },
    pairs.map(([label, value]) => [h("dt", {}, label), h("dd", {}, value)]),
  );
}

function section(title, ...children) {
  return h("section", { class: "card" }, h("h2", {}, title), ...children);
}

function hash(hex, title) {
  return h("code", { class: "hash", title: title || hex }, fmt.short(hex));
}

function notice(text, kind) {
  return h("p", { class: `notice ${kind || ""}` }, text);
}

// A table from column specs [{title, value(row) -> node|text}].
function table(columns, rows, attrs) {
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      attrs || {},
      h("thead", {}, h("tr", {}, columns.map((c) => h("th", {}, c.title)))),
      h(
        "tbody",
        {},
        rows.map((row) =>
          h(
            "tr",
            {},
            columns.map((c) => h("td", { "data-title": c.title }, c.value(row))),
          ),
        ),
      ),
    ),
  );
}
