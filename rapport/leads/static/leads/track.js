/*
 * Rapport page-view tracking: first-party, small, and polite.
 *
 * Install on every page of your site (Rapport shows the exact line under Lead capture → Sites):
 *   <script src="https://YOUR-RAPPORT/static/leads/track.js" data-site="SITE-KEY"
 *           data-consent="after_consent" async></script>
 *
 * What it does: gives the browser a random anonymous id (a cookie and localStorage entry on
 * YOUR domain, nothing shared with anyone else) and sends each page view (address, referrer,
 * title, UTM parameters, time) to Rapport in small batches.
 *
 * What it never does: track a visitor who opted out (window.rapportOptOut = true before this
 * script, or rapport.optOut() later), whose browser sends Do-Not-Track or Global Privacy
 * Control, or, when the site tracks only after consent, one who has not consented yet
 * (call rapport.consent() when they accept your banner; rapport.withdrawConsent() undoes it).
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.rapport && window.rapport.version) return;

  var SITE = script.getAttribute("data-site") || "";
  var NEEDS_CONSENT = (script.getAttribute("data-consent") || "after_consent") !== "always";
  var ENDPOINT = script.getAttribute("data-endpoint") || new URL("/t/collect", script.src).href;
  var FLUSH_MS = parseInt(script.getAttribute("data-flush-ms") || "1000", 10);
  var ID_KEY = "rapport_vid", QUEUE_KEY = "rapport_queue", CONSENT_KEY = "rapport_consent",
      OPT_OUT_KEY = "rapport_opt_out", LINK_PARAM = "rapport_ct";
  var MAX_QUEUE = 50, MAX_URL = 2000, YEAR = 365 * 24 * 3600;
  var UTM = ["source", "medium", "campaign", "term", "content"];
  var memoryQueue = [], timer = null, contactToken = "";

  function store(key, value) {
    try {
      if (value === null) window.localStorage.removeItem(key); else window.localStorage.setItem(key, value);
    } catch (e) { /* storage disabled: keep working from memory */ }
  }
  function read(key) {
    try { return window.localStorage.getItem(key); } catch (e) { return null; }
  }
  function cookie(name, value, maxAge) {
    var secure = location.protocol === "https:" ? "; Secure" : "";
    document.cookie = name + "=" + encodeURIComponent(value) + "; Max-Age=" + maxAge + "; Path=/; SameSite=Lax" + secure;
  }
  function readCookie(name) {
    var match = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    return match ? decodeURIComponent(match[1]) : null;
  }

  function optedOut() {
    return window.rapportOptOut === true || read(OPT_OUT_KEY) === "1" ||
      navigator.globalPrivacyControl === true || navigator.doNotTrack === "1" || window.doNotTrack === "1";
  }
  function consented() { return read(CONSENT_KEY) === "1"; }
  function allowed() { return !optedOut() && (!NEEDS_CONSENT || consented()); }

  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID().replace(/-/g, "");
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  function visitorId(create) {
    var id = readCookie(ID_KEY) || read(ID_KEY);
    if (!id && create) id = newId();
    if (id) { cookie(ID_KEY, id, YEAR); store(ID_KEY, id); }
    return id;
  }
  function forget() {
    cookie(ID_KEY, "", 0);
    store(ID_KEY, null);
    store(QUEUE_KEY, null);
    memoryQueue = [];
  }

  function takeQueue() {
    var queued = memoryQueue;
    memoryQueue = [];
    try { queued = queued.concat(JSON.parse(read(QUEUE_KEY) || "[]")); } catch (e) { /* a damaged queue is dropped */ }
    store(QUEUE_KEY, null);
    return queued.slice(-MAX_QUEUE);
  }
  function putBack(events) {
    // Kept for the next page (or the next visit) when sending failed; never more than one batch.
    var queued = events.concat(memoryQueue).slice(-MAX_QUEUE);
    memoryQueue = [];
    store(QUEUE_KEY, JSON.stringify(queued));
  }

  function pageAddress() {
    var url = new URL(location.href);
    if (url.searchParams.has(LINK_PARAM)) {
      contactToken = url.searchParams.get(LINK_PARAM) || "";
      url.searchParams.delete(LINK_PARAM);
      // The token identifies the visitor to Rapport only; it should not be bookmarked or shared.
      try { history.replaceState(history.state, "", url.href); } catch (e) { /* keep going */ }
    }
    var href = url.href;
    if (href.length > MAX_URL) { url.search = ""; href = url.href.slice(0, MAX_URL); }
    return {url: url, href: href};
  }
  function utmOf(url) {
    var utm = {};
    UTM.forEach(function (name) {
      var value = url.searchParams.get("utm_" + name);
      if (value) utm[name] = value.slice(0, 200);
    });
    return utm;
  }

  function flush(leaving) {
    if (timer) { clearTimeout(timer); timer = null; }
    if (!allowed()) { forget(); return; }
    var events = takeQueue();
    if (!events.length) return;
    var batch = {site: SITE, visitor: visitorId(true), consent: consented(), events: events};
    if (contactToken) { batch.contact_token = contactToken; contactToken = ""; }
    // text/plain keeps the request "simple": no CORS preflight, and sendBeacon accepts it.
    var body = JSON.stringify(batch);
    if (leaving && navigator.sendBeacon) {
      if (!navigator.sendBeacon(ENDPOINT, new Blob([body], {type: "text/plain;charset=UTF-8"}))) putBack(events);
      return;
    }
    fetch(ENDPOINT, {method: "POST", body: body, keepalive: true, credentials: "omit", mode: "cors",
                     headers: {"Content-Type": "text/plain;charset=UTF-8"}})
      .then(function (response) {
        if (response.status >= 500 || response.status === 429) putBack(events);
        else if (!response.ok) response.text().then(function (reason) { console.warn("Rapport tracking refused a batch:", reason); });
      })
      .catch(function () { putBack(events); });
  }
  function schedule() {
    if (!timer) timer = setTimeout(function () { flush(false); }, FLUSH_MS);
  }

  function page() {
    if (!allowed()) return;
    var address = pageAddress();
    var referrer = document.referrer && document.referrer.length <= MAX_URL ? document.referrer : "";
    memoryQueue.push({url: address.href, referrer: referrer, title: (document.title || "").slice(0, 300),
                      utm: utmOf(address.url), at: Date.now()});
    if (memoryQueue.length >= MAX_QUEUE) flush(false); else schedule();
  }

  window.rapport = {
    version: 1,
    page: page,
    flush: function () { flush(false); },
    /** The anonymous id, only while tracking is allowed (forms send it to join the history). */
    visitorId: function () { return allowed() ? visitorId(true) : ""; },
    consent: function () {
      store(CONSENT_KEY, "1");
      if (!optedOut() && !pageSeen) { pageSeen = true; page(); }
    },
    withdrawConsent: function () { store(CONSENT_KEY, null); forget(); },
    optOut: function () { store(OPT_OUT_KEY, "1"); forget(); },
    optIn: function () { store(OPT_OUT_KEY, null); }
  };

  var pageSeen = allowed();
  if (pageSeen) page(); else if (optedOut()) forget();
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") flush(true);
  });
  window.addEventListener("pagehide", function () { flush(true); });
})();
