// The bank's pages: HTML templates in templates/, filled with escaped values. `{{name}}` is
// escaped; `{{& name}}` inserts HTML this module rendered itself (a fragment from `render`).
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const TEMPLATES = join(dirname(fileURLToPath(import.meta.url)), "templates");
const cache = new Map();

export const LANGUAGES = ["en", "vi"];
const STRINGS = Object.fromEntries(
  LANGUAGES.map((lang) => [lang, JSON.parse(readFileSync(join(TEMPLATES, `strings.${lang}.json`), "utf8"))]),
);

class Html {
  constructor(text) {
    this.text = text;
  }
}

export function escape(value) {
  return String(value ?? "").replace(
    /[&<>"'`=]/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;", "`": "&#96;", "=": "&#61;" })[c],
  );
}

function template(name) {
  if (!cache.has(name)) cache.set(name, readFileSync(join(TEMPLATES, `${name}.html`), "utf8"));
  return cache.get(name);
}

function lookup(values, path) {
  return path.split(".").reduce((at, part) => (at == null ? undefined : at[part]), values);
}

export function render(name, values) {
  const text = template(name).replace(/\{\{(&?)\s*([\w.]+)\s*\}\}/g, (_, raw, path) => {
    const value = lookup(values, path);
    if (value === undefined) throw new Error(`template ${name}: no value for ${path}`);
    if (raw) {
      if (!(value instanceof Html)) throw new Error(`template ${name}: ${path} is not rendered HTML`);
      return value.text;
    }
    return escape(value);
  });
  return new Html(text);
}

export function strings(lang) {
  return STRINGS[lang] ?? STRINGS.en;
}

/** A whole page: the layout around the named template, in the customer's language. */
export function page(name, { lang, title, path, ...values }) {
  const t = strings(lang);
  const body = render(name, { t, ...values });
  const other = lang === "vi" ? "en" : "vi";
  return render("layout", {
    t,
    lang,
    title: t[title] ?? title,
    body,
    otherLang: other,
    otherLangName: t[`lang_${other}`],
    otherLangHref: `${path}?lang=${other}`,
  }).text;
}

export function fragment(name, values) {
  return render(name, values);
}

export const empty = new Html("");

export function joined(fragments) {
  return new Html(fragments.map((f) => f.text).join("\n"));
}
