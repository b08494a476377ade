// Sign-in, the caller's role and the hash router. The API key lives in sessionStorage
// only: it is gone when the tab closes, and every request sends it as a Bearer token.
"use strict";

const ROUTES = {
  vehicles: vehiclesView,
  vehicle: vehicleView,
  loans: loansView,
  loan: loanView,
  alerts: alertsView,
  portfolio: portfolioView,
  consortium: consortiumView,
  monitoring: monitoringView,
};

let me = null;
const main = document.getElementById("main");

function signInView(message) {
  const key = h("input", { id: "api-key", name: "api-key", type: "password", required: true,
    autocomplete: "off", placeholder: "vcl_…" });
  const error = h("p", { class: "notice bad", id: "sign-in-error" }, message || "");
  const form = h("form", { id: "sign-in", class: "card sign-in", onsubmit: async (ev) => {
    ev.preventDefault();
    sessionStorage.setItem(KEY_STORAGE, key.value.trim());
    await start();
  } },
  h("h1", {}, "Sign in"),
  h("p", {}, "Use the API key this node issued to you (vcl node keys create)."),
  h("label", { for: "api-key" }, "API key"), key,
  h("button", { type: "submit" }, "Sign in"), error);
  main.replaceChildren(form);
  key.focus();
}

function showSession() {
  const signedIn = me !== null;
  document.getElementById("nav").hidden = !signedIn;
  document.getElementById("sign-out").hidden = !signedIn;
  const who = document.getElementById("who");
  who.replaceChildren();
  document.body.dataset.role = signedIn ? me.role : "";
  if (signedIn) {
    who.append(h("span", { class: `role ${me.role}`, id: "role" }, me.role), " ",
      h("span", { class: "muted" }, fmt.short(me.institution.address)));
  }
}

async function start() {
  if (!api.key()) {
    me = null;
    showSession();
    signInView();
    return;
  }
  try {
    me = await api.get("/v1/me");
  } catch (error) {
    sessionStorage.removeItem(KEY_STORAGE);
    me = null;
    showSession();
    signInView(error.status === 401 ? "This API key is unknown or revoked." : error.message);
    return;
  }
  showSession();
  await route();
}

async function route() {
  if (me === null) return;
  const [path, queryString] = (location.hash.replace(/^#\/?/, "") || "vehicles").split("?");
  const [name, ...rest] = path.split("/");
  const view = ROUTES[name] || vehiclesView;
  const param = rest.length ? decodeURIComponent(rest.join("/")) : null;
  const section = name === "vehicle" ? "vehicles" : name === "loan" ? "loans" : name;
  for (const link of document.querySelectorAll("#nav a")) {
    link.classList.toggle("current", link.dataset.section === section);
  }
  main.replaceChildren(h("p", { class: "loading" }, "Loading…"));
  try {
    const page = await view(param, me, new URLSearchParams(queryString || ""));
    main.replaceChildren(page);
    main.dataset.view = name;
  } catch (error) {
    if (error.status === 401) {
      sessionStorage.removeItem(KEY_STORAGE);
      await start();
      return;
    }
    main.replaceChildren(h("div", { class: "card" }, h("h1", {}, "Not available"),
      notice(error.message, "bad")));
    main.dataset.view = "error";
  }
}

document.getElementById("sign-out").addEventListener("click", () => {
  sessionStorage.removeItem(KEY_STORAGE);
  location.hash = "";
  start();
});
window.addEventListener("hashchange", route);
start();
