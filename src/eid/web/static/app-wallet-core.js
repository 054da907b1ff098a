// The holder app as a wallet, shared by /app/wallet (app-wallet.js: receiving the card) and
// /app/present (app-present.js: presenting it): the IndexedDB stores, the device's ES256 key
// (WebCrypto, private half NOT extractable), base64url, JWT signing, reading the kept card.
// Loaded with `defer` before the page's own script; exposes `window.eidWallet`.
"use strict";

(() => {
  const DB_NAME = "eid-wallet";
  const KEYS = "keys";
  const CARDS = "credentials";
  const CARD_ID = "residence_card";

  const enc = new TextEncoder();
  const b64u = (bytes) =>
    btoa(String.fromCharCode(...new Uint8Array(bytes)))
      .replace(/\+/g, "-")
      .replace(/\//g, "_")
      .replace(/=+$/, "");
  const b64uJson = (value) => b64u(enc.encode(JSON.stringify(value)));
  const bytesOf = (text) => {
    const bin = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(bin, (c) => c.charCodeAt(0));
  };
  const fromB64u = (text) => new TextDecoder().decode(bytesOf(text));
  const jsonOf = (text) => JSON.parse(fromB64u(text));

  function openDb() {
    return new Promise((resolve, reject) => {
      const request = indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = () => {
        request.result.createObjectStore(KEYS);
        request.result.createObjectStore(CARDS);
      };
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }

  async function store(name, mode, work) {
    const db = await openDb();
    return new Promise((resolve, reject) => {
      const tx = db.transaction(name, mode);
      const request = work(tx.objectStore(name));
      tx.oncomplete = () => resolve(request.result);
      tx.onerror = () => reject(tx.error);
    });
  }

  const get = (name, key) => store(name, "readonly", (s) => s.get(key));
  const put = (name, key, value) => store(name, "readwrite", (s) => s.put(value, key));
  const remove = (name, key) => store(name, "readwrite", (s) => s.delete(key));

  // The device's key: made once, private half not extractable.
  async function holderKey(create = true) {
    const kept = await get(KEYS, "holder");
    if (kept || !create) return kept;
    const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, [
      "sign",
      "verify",
    ]);
    await put(KEYS, "holder", pair);
    return pair;
  }

  async function publicJwk(pair) {
    const { kty, crv, x, y } = await crypto.subtle.exportKey("jwk", pair.publicKey);
    return { kty, crv, x, y };
  }

  async function signJwt(pair, header, payload) {
    const input = `${b64uJson(header)}.${b64uJson(payload)}`;
    const signature = await crypto.subtle.sign(
      { name: "ECDSA", hash: "SHA-256" },
      pair.privateKey,
      enc.encode(input),
    );
    return `${input}.${b64u(signature)}`;
  }

  const sha256 = async (text) => b64u(await crypto.subtle.digest("SHA-256", enc.encode(text)));

  // The card's claims (its disclosures by name) and the signed payload's own facts.
  function claimsOf(credential) {
    const [jwt, ...disclosures] = credential.split("~");
    const claims = {};
    for (const d of disclosures) {
      if (!d) continue;
      const [, name, value] = JSON.parse(fromB64u(d));
      claims[name] = value;
    }
    const payload = jsonOf(jwt.split(".")[1]);
    return { claims, exp: payload.exp };
  }


  // ISO 3166-1 alpha-3 (what the card and ICAO 9303 documents carry) to alpha-2 (what
  // Intl.DisplayNames names); "D" is Germany in ICAO 9303.
  const ALPHA3 =
    "ABWAWAFGAFAGOAOAIAAIALAAXALBALANDADAREAEARGARARMAMASMASATAAQATFTFATGAGAUSAUAUTATAZEAZBDIBI" +
    "BELBEBENBJBESBQBFABFBGDBDBGRBGBHRBHBHSBSBIHBABLMBLBLRBYBLZBZBMUBMBOLBOBRABRBRBBBBRNBNBTNBT" +
    "BVTBVBWABWCAFCFCANCACCKCCCHECHCHLCLCHNCNCIVCICMRCMCODCDCOGCGCOKCKCOLCOCOMKMCPVCVCRICRCUBCU" +
    "CUWCWCXRCXCYMKYCYPCYCZECZDEUDEDJIDJDMADMDNKDKDOMDODZADZECUECEGYEGERIERESHEHESPESESTEEETHET" +
    "FINFIFJIFJFLKFKFRAFRFROFOFSMFMGABGAGBRGBGEOGEGGYGGGHAGHGIBGIGINGNGLPGPGMBGMGNBGWGNQGQGRCGR" +
    "GRDGDGRLGLGTMGTGUFGFGUMGUGUYGYHKGHKHMDHMHNDHNHRVHRHTIHTHUNHUIDNIDIMNIMINDINIOTIOIRLIEIRNIR" +
    "IRQIQISLISISRILITAITJAMJMJEYJEJORJOJPNJPKAZKZKENKEKGZKGKHMKHKIRKIKNAKNKORKRKWTKWLAOLALBNLB" +
    "LBRLRLBYLYLCALCLIELILKALKLSOLSLTULTLUXLULVALVMACMOMAFMFMARMAMCOMCMDAMDMDGMGMDVMVMEXMXMHLMH" +
    "MKDMKMLIMLMLTMTMMRMMMNEMEMNGMNMNPMPMOZMZMRTMRMSRMSMTQMQMUSMUMWIMWMYSMYMYTYTNAMNANCLNCNERNE" +
    "NFKNFNGANGNICNINIUNUNLDNLNORNONPLNPNRUNRNZLNZOMNOMPAKPKPANPAPCNPNPERPEPHLPHPLWPWPNGPGPOLPL" +
    "PRIPRPRKKPPRTPTPRYPYPSEPSPYFPFQATQAREUREROURORUSRURWARWSAUSASDNSDSENSNSGPSGSGSGSSHNSHSJMSJ" +
    "SLBSBSLESLSLVSVSMRSMSOMSOSPMPMSRBRSSSDSSSTPSTSURSRSVKSKSVNSISWESESWZSZSXMSXSYCSCSYRSYTCATC" +
    "TCDTDTGOTGTHATHTJKTJTKLTKTKMTMTLSTLTONTOTTOTTTUNTNTURTRTUVTVTWNTWTZATZUGAUGUKRUAUMIUMURYUY" +
    "USAUSUZBUZVATVAVCTVCVENVEVGBVGVIRVIVNMVNVUTVUWLFWFWSMWSYEMYEZAFZAZMBZMZWEZW";
  const ALPHA2 = { D: "DE" };
  for (let i = 0; i < ALPHA3.length; i += 5) ALPHA2[ALPHA3.slice(i, i + 3)] = ALPHA3.slice(i + 3, i + 5);

  // A nationality in the page's language ("KOR" -> "Hàn Quốc"), the code if it has no name.
  function countryName(code, lang) {
    const region = ALPHA2[String(code).toUpperCase()];
    try {
      return (region && new Intl.DisplayNames([lang], { type: "region" }).of(region)) || code;
    } catch (_) {
      return code;
    }
  }

  // A calendar date of the card ("2030-12-31") in the page's language, as the day it names.
  function dateText(value, lang) {
    const day = /^\d{4}-\d{2}-\d{2}$/.test(String(value)) ? new Date(`${value}T00:00:00Z`) : null;
    if (!day || Number.isNaN(day.getTime())) return String(value);
    return new Intl.DateTimeFormat(lang, { dateStyle: "long", timeZone: "UTC" }).format(day);
  }

  const STATUS_NAMES = { 0: "valid", 1: "revoked", 2: "suspended" };

  // The status list's entry for the card (IETF Token Status List: zlib-compressed, `bits` per
  // credential); read again from the issuer every time (no-cache), never from a stale copy.
  async function listedStatus(reference) {
    const response = await fetch(reference.uri, {
      cache: "no-cache",
      headers: { Accept: "application/statuslist+jwt" },
    });
    if (!response.ok) throw new Error(`status list ${response.status}`);
    const list = jsonOf((await response.text()).split(".")[1]).status_list;
    const stream = new Blob([bytesOf(list.lst)]).stream().pipeThrough(new DecompressionStream("deflate"));
    const bits = new Uint8Array(await new Response(stream).arrayBuffer());
    const perByte = 8 / list.bits;
    const byte = bits[Math.floor(reference.idx / perByte)];
    return (byte >> ((reference.idx % perByte) * list.bits)) & ((1 << list.bits) - 1);
  }

  // What the app may do with the kept card now: "valid", "expired", "suspended" (the account is
  // locked), "revoked" (or bound to a replaced device), or "unknown" (the list unreachable:
  // the verifier checks it anyway).
  async function cardState(card) {
    const payload = jsonOf(card.credential.split("~")[0].split(".")[1]);
    if (typeof payload.exp !== "number" || payload.exp * 1000 <= Date.now()) return "expired";
    const reference = (payload.status || {}).status_list;
    if (!reference) return "unknown";
    try {
      return STATUS_NAMES[await listedStatus(reference)] || "revoked";
    } catch (_) {
      return "unknown";
    }
  }

  window.eidWallet = {
    countryName,
    dateText,
    cardState,
    CARDS,
    CARD_ID,
    card: () => get(CARDS, CARD_ID),
    keepCard: (card) => put(CARDS, CARD_ID, card),
    forgetCard: () => remove(CARDS, CARD_ID),
    holderKey,
    publicJwk,
    signJwt,
    sha256,
    claimsOf,
    b64u,
    b64uJson,
    bytesOf,
    fromB64u,
    jsonOf,
    enc,
    now: () => Math.floor(Date.now() / 1000),
  };
})();
