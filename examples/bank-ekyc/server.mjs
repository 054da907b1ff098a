// The bank's web server: node:http, no framework. Pages: home, /login (to eid), /callback,
// /account (the application form pre-filled from the e-ID's claims), /done, /logout (through
// eid's end_session_endpoint), /signed-out.
//
// What a browser sees is only a session cookie (HttpOnly, SameSite=Lax): the login's state,
// nonce, PKCE verifier and DPoP key, the ID token and the claims all stay in this process.
// A real bank keeps sessions in its own store; this sample keeps them in memory.
import { randomBytes, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { beginLogin, connect, describeError, finishLogin, logoutUrl } from "./oidc.mjs";
import { LANGUAGES, empty, fragment, joined, page, strings } from "./pages.mjs";

const STATIC = join(dirname(fileURLToPath(import.meta.url)), "static");
const COOKIE = "bank_session";
const SESSION_SECONDS = 30 * 60;
const BODY_LIMIT = 8 * 1024;
// Every visitor gets a session: bounded, the oldest dropped first, so a flood cannot fill memory.
const MAX_SESSIONS = 10_000;

export async function startBank(settings) {
  const server = createServer();
  await new Promise((done, failed) => {
    server.once("error", failed);
    server.listen(settings.port, settings.bind, done);
  });
  const port = server.address().port;
  const url = (settings.publicUrl ?? `http://localhost:${port}`).replace(/\/$/, "");
  const registered = await settings.registration(url);
  const rp = await connect({
    issuer: settings.issuer,
    clientId: registered.client_id,
    clientSecret: registered.client_secret,
    profile: settings.profile,
    key: settings.key,
    insecure: settings.insecure,
  });
  const bank = new Bank({ ...settings, url, rp });
  server.on("request", (request, response) => bank.serve(request, response));
  return { url, server, clientId: registered.client_id };
}

class Bank {
  constructor(settings) {
    this.settings = settings;
    this.sessions = new Map();
    this.secure = settings.url.startsWith("https://");
    this.policy = [
      "default-src 'none'",
      "style-src 'self'",
      "img-src 'self'",
      // The login and logout forms lead to eid (a form's redirect is governed by form-action).
      `form-action 'self' ${settings.issuer.origin}`,
      "frame-ancestors 'none'",
      "base-uri 'none'",
    ].join("; ");
    setInterval(() => this.expire(), 60_000).unref();
  }

  async serve(request, response) {
    try {
      const url = new URL(request.url, this.settings.url);
      const route = `${request.method} ${url.pathname}`;
      const handler = {
        "GET /": this.home,
        "POST /login": this.login,
        "GET /callback": this.callback,
        "GET /account": this.account,
        "POST /account": this.apply,
        "GET /done": this.done,
        "POST /logout": this.logout,
        "GET /signed-out": this.signedOut,
      }[route];
      if (route === "GET /static/bank.css") return this.stylesheet(response);
      if (!handler) return this.send(response, 404, "text/plain; charset=utf-8", "not found");
      const context = this.context(request, response, url);
      await handler.call(this, context);
    } catch (error) {
      // No personal data in the log: the error's code and message only, never the claims.
      process.stderr.write(`bank-ekyc: ${request.method} ${request.url?.split("?")[0]}: ${error?.code ?? ""} ${error?.message}\n`);
      if (!response.headersSent) this.send(response, 500, "text/plain; charset=utf-8", "internal error");
    }
  }

  // --------------------------------------------------------------------- pages

  async home(c) {
    const action = c.session.customer
      ? fragment("home-continue", { t: strings(c.lang) })
      : fragment("home-start", { t: strings(c.lang), csrf: c.session.csrf });
    this.page(c, 200, "home", { title: "home_title", action });
  }

  async login(c) {
    const form = await this.form(c);
    if (!form) return;
    let started;
    try {
      started = await beginLogin(this.settings.rp, {
        redirectUri: `${this.settings.url}/callback`,
        scope: this.settings.scope,
        language: c.lang,
      });
    } catch (error) {
      // eid refused the pushed request (or did not answer): the operator's log says why.
      const { code, detail } = describeError(error);
      process.stderr.write(`bank-ekyc: the authorization request failed: ${code} ${detail ?? ""}\n`);
      return this.error(c, 502, code, strings(c.lang).error_generic);
    }
    const { login, url } = started;
    c.session.login = login;
    c.session.customer = null;
    this.redirect(c, url);
  }

  async callback(c) {
    const login = c.session.login;
    c.session.login = null; // one use: a replayed callback finds nothing
    if (!login) return this.error(c, 400, "session_expired", strings(c.lang).error_session);
    try {
      c.session.customer = await finishLogin(this.settings.rp, login, c.url);
    } catch (error) {
      const { code } = describeError(error);
      const t = strings(c.lang);
      const message =
        code === "access_denied" ? t.error_denied
        : code === "BANK_LEVEL2_REQUIRED" || code === "unmet_authentication_requirements" ? t.error_level
        : t.error_generic;
      process.stderr.write(`bank-ekyc: the e-ID login failed: ${code}\n`);
      return this.error(c, 400, code, message);
    }
    // The operator's log: how the customer signed in, never who (no claims, no subject).
    const customer = c.session.customer;
    process.stderr.write(`bank-ekyc: e-ID login: acr=${customer.acr} token_type=${customer.tokenType}\n`);
    // A new session id once signed in (no session fixation).
    this.rotate(c);
    this.redirect(c, "/account");
  }

  async account(c, problem = null, entered = {}) {
    const customer = c.session.customer;
    if (!customer) return this.redirect(c, "/");
    const t = strings(c.lang);
    const claims = customer.claims;
    const shown = [
      ["name", t.field_name, claims.name],
      ["birthdate", t.field_birthdate, claims.birthdate],
      ["nationality", t.field_nationality, claims.nationality],
      ["residence_card_number", t.field_card_number, claims.residence_card_number],
      ["residence_card_kind", t.field_card_kind, claims.residence_card_kind],
      ["residence_card_expiry", t.field_card_expiry, claims.residence_card_expiry],
      ["phone_number", t.field_phone, claims.phone_number],
      ["email", t.field_email, claims.email],
    ].filter(([, , value]) => value !== undefined && value !== null);
    const verifiedFields = joined(shown.map(([id, label, value]) => fragment("verified-field", { t, id, label, value })));
    this.page(c, problem ? 400 : 200, "account", {
      title: "account_title",
      csrf: c.session.csrf,
      verifiedFields,
      problem: problem ? fragment("problem", { message: problem }) : empty,
      passport: entered.passport_number ?? "",
      address: entered.address ?? "",
    });
  }

  async apply(c) {
    const form = await this.form(c);
    if (!form) return;
    const customer = c.session.customer;
    if (!customer) return this.redirect(c, "/");
    const entered = {
      passport_number: (form.get("passport_number") ?? "").trim().slice(0, 20),
      address: (form.get("address") ?? "").trim().slice(0, 300),
    };
    const product = form.get("product") === "savings" ? "savings" : "payment";
    if (!entered.passport_number || !entered.address || form.get("confirm") !== "yes") {
      return this.account(c, strings(c.lang).missing, entered);
    }
    // What the bank files: the e-ID's verified claims as given, beside what the customer typed,
    // and the evidence (the subject, the level, the signed ID token) for its KYC record.
    c.session.application = {
      reference: `EB-${randomBytes(4).toString("hex").toUpperCase()}`,
      product,
      verified: customer.claims,
      entered,
      evidence: { subject: customer.subject, acr: customer.acr, auth_time: customer.authTime },
    };
    this.redirect(c, "/done");
  }

  async done(c) {
    const application = c.session.application;
    if (!application) return this.redirect(c, "/");
    const t = strings(c.lang);
    this.page(c, 200, "done", {
      title: "done_title",
      lead: t.done_lead.replace("{name}", application.verified.name ?? ""),
      reference: application.reference,
      product: application.product === "savings" ? t.product_savings : t.product_payment,
      signOut: fragment("sign-out", { t, csrf: c.session.csrf }),
    });
  }

  async logout(c) {
    const form = await this.form(c);
    if (!form) return;
    const idToken = c.session.customer?.idToken;
    this.sessions.delete(c.sid);
    if (!idToken) return this.redirect(c, "/");
    // A fresh session remembers the logout's state, checked when eid sends the customer back.
    const next = this.newSession(c);
    next.logoutState = randomBytes(16).toString("base64url");
    this.redirect(
      c,
      logoutUrl(this.settings.rp, {
        idToken,
        postLogoutRedirectUri: `${this.settings.url}/signed-out`,
        state: next.logoutState,
        language: c.lang,
      }),
    );
  }

  async signedOut(c) {
    const expected = c.session.logoutState;
    const given = c.url.searchParams.get("state");
    if (!expected || given !== expected) return this.redirect(c, "/");
    c.session.logoutState = null;
    this.page(c, 200, "signed-out", { title: "signed_out_title" });
  }

  stylesheet(response) {
    response.setHeader("Cache-Control", "public, max-age=300");
    this.send(response, 200, "text/css; charset=utf-8", readFileSync(join(STATIC, "bank.css")));
  }

  // --------------------------------------------------------------------- plumbing

  context(request, response, url) {
    const cookies = Object.fromEntries(
      (request.headers.cookie ?? "").split(";").map((part) => {
        const at = part.indexOf("=");
        return [part.slice(0, at).trim(), part.slice(at + 1).trim()];
      }),
    );
    const c = { request, response, url, sid: cookies[COOKIE], session: null, lang: "en" };
    c.session = this.sessions.get(c.sid);
    if (!c.session || c.session.expires < Date.now()) this.newSession(c);
    c.session.expires = Date.now() + SESSION_SECONDS * 1000;
    const asked = url.searchParams.get("lang");
    if (LANGUAGES.includes(asked)) c.session.lang = asked;
    if (!c.session.lang) {
      const accept = (request.headers["accept-language"] ?? "").toLowerCase();
      c.session.lang = accept.startsWith("vi") ? "vi" : "en";
    }
    c.lang = c.session.lang;
    return c;
  }

  newSession(c) {
    this.sessions.delete(c.sid);
    c.sid = randomBytes(32).toString("base64url");
    const session = { csrf: randomBytes(32).toString("base64url"), lang: c.session?.lang };
    if (this.sessions.size >= MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value);
    this.sessions.set(c.sid, session);
    c.session = session;
    this.setCookie(c);
    return session;
  }

  rotate(c) {
    const session = c.session;
    this.sessions.delete(c.sid);
    c.sid = randomBytes(32).toString("base64url");
    session.csrf = randomBytes(32).toString("base64url");
    this.sessions.set(c.sid, session);
    this.setCookie(c);
  }

  setCookie(c) {
    const secure = this.secure ? "; Secure" : "";
    c.response.setHeader(
      "Set-Cookie",
      `${COOKIE}=${c.sid}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${SESSION_SECONDS}${secure}`,
    );
  }

  expire() {
    const now = Date.now();
    for (const [sid, session] of this.sessions) if (session.expires < now) this.sessions.delete(sid);
  }

  /** The posted form, when its anti-forgery token is the session's; else a 403 page. */
  async form(c) {
    const type = c.request.headers["content-type"] ?? "";
    if (!type.startsWith("application/x-www-form-urlencoded")) {
      this.send(c.response, 415, "text/plain; charset=utf-8", "form expected");
      return null;
    }
    const chunks = [];
    let size = 0;
    for await (const chunk of c.request) {
      size += chunk.length;
      if (size > BODY_LIMIT) {
        this.send(c.response, 413, "text/plain; charset=utf-8", "too large");
        return null;
      }
      chunks.push(chunk);
    }
    const form = new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
    const given = Buffer.from(form.get("csrf") ?? "");
    const expected = Buffer.from(c.session.csrf);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      this.error(c, 403, "csrf", strings(c.lang).error_session);
      return null;
    }
    return form;
  }

  page(c, status, name, values) {
    const html = page(name, { lang: c.lang, path: c.url.pathname, ...values });
    this.send(c.response, status, "text/html; charset=utf-8", html);
  }

  error(c, status, code, message) {
    this.page(c, status, "error", { title: "error_title", code, message });
  }

  redirect(c, location) {
    c.response.setHeader("Location", location);
    this.send(c.response, 303, "text/plain; charset=utf-8", "");
  }

  send(response, status, type, body) {
    response.statusCode = status;
    response.setHeader("Content-Type", type);
    response.setHeader("Content-Security-Policy", this.policy);
    response.setHeader("X-Content-Type-Options", "nosniff");
    // The callback's URL carries the authorization code: never in a Referer.
    response.setHeader("Referrer-Policy", "no-referrer");
    if (!response.hasHeader("Cache-Control")) response.setHeader("Cache-Control", "no-store");
    response.end(body);
  }
}
