// The holder app's service worker (served at /app/sw.js with `const SHELL = {...}` before this
// line: the versioned assets to keep and the offline page of each language).
//
// What it keeps: the static assets (versioned URLs, nothing personal) and the offline pages.
// What it never keeps: pages (network every time; they may show the signed-in holder) and
// anything under /api/ (it does not even answer those: the browser fetches them directly).
"use strict";

const CACHE = `eid-app-${SHELL.version}`;
const LANGUAGE_KEY = "/app/__language";

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll([...SHELL.assets, ...Object.values(SHELL.offline)]))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) =>
        Promise.all(
          keys
            .filter((key) => key.startsWith("eid-app-") && key !== CACHE)
            .map((key) => caches.delete(key)),
        ),
      )
      .then(() => self.clients.claim()),
  );
});

// The page tells the worker its language; kept in the cache so a restarted worker knows it.
self.addEventListener("message", (event) => {
  const lang = event.data && event.data.lang;
  if (lang && SHELL.offline[lang]) {
    event.waitUntil(
      caches.open(CACHE).then((cache) => cache.put(LANGUAGE_KEY, new Response(lang))),
    );
  }
});

async function offlinePage() {
  const cache = await caches.open(CACHE);
  const kept = await cache.match(LANGUAGE_KEY);
  let lang = kept ? await kept.text() : null;
  if (!SHELL.offline[lang]) {
    const preferred = (self.navigator.languages || []).map((l) => l.slice(0, 2).toLowerCase());
    lang = preferred.find((l) => SHELL.offline[l]) || "en";
  }
  return (await cache.match(SHELL.offline[lang])) || Response.error();
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/api/")) return; // never cached, never answered from here
  if (request.mode === "navigate") {
    // Network first, and nothing stored: offline, the offline page in the holder's language.
    event.respondWith(fetch(request).catch(() => offlinePage()));
    return;
  }
  if (url.pathname.startsWith("/static/") && url.searchParams.has("v")) {
    // Versioned static files never change under their URL: the cache first, then the network
    // (kept for next time: scripts and styles only, the same for every holder).
    event.respondWith(
      caches.open(CACHE).then(async (cache) => {
        const hit = await cache.match(request);
        if (hit) return hit;
        const response = await fetch(request);
        if (response.ok) cache.put(request, response.clone());
        return response;
      }),
    );
  }
});
