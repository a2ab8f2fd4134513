/* mentiondesk: keyboard shortcuts for the play loop, the reply character count, compact ages,
   the presence heartbeat's typing flag, drafted replies and macros into the composer, the
   "new post arrived" banner, the queue's pulse, and polls that wait while someone is typing.
   No inline scripts anywhere (a CSP without 'unsafe-inline' must keep working), and every
   feature here is an extra: the forms work without JavaScript. */
(function () {
  "use strict";

  var G_TIMEOUT_MS = 1500;
  var pendingG = 0;

  function isTyping(el) {
    if (!el || el === document.body) return false;
    if (el.isContentEditable) return true;
    return /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName);
  }

  function submit(form) {
    if (!form || form.dataset.submitting === "1") return;
    var button = form.querySelector("[data-default-submit]:not([disabled])");
    if (form.querySelector("[data-default-submit][disabled]") && !button) return;
    form.dataset.submitting = "1";
    if (typeof form.requestSubmit === "function") {
      form.requestSubmit(button || undefined);
    } else {
      form.submit();
    }
  }

  function shortcutsDialog() {
    return document.getElementById("shortcuts");
  }

  function toggleHelp() {
    var dialog = shortcutsDialog();
    if (!dialog) return;
    if (dialog.open) dialog.close();
    else dialog.showModal();
  }

  function goToQueue() {
    var url = document.body.dataset.queueUrl || "/";
    window.location.assign(url);
  }

  function onKeydown(event) {
    // Ctrl+Enter / Cmd+Enter sends the form of the text box being typed in.
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      var target = event.target;
      if (target && target.tagName === "TEXTAREA" && target.form) {
        event.preventDefault();
        submit(target.form);
      }
      return;
    }
    if (event.key === "Escape" && isTyping(event.target)) {
      event.target.blur();
      return;
    }
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (isTyping(event.target)) return;
    if (event.key === "Escape" && closePopovers()) return;
    var dialog = shortcutsDialog();
    if (dialog && dialog.open && event.key !== "?") return;

    if (pendingG && Date.now() - pendingG < G_TIMEOUT_MS) {
      pendingG = 0;
      if (event.key === "q") {
        event.preventDefault();
        goToQueue();
        return;
      }
    }
    pendingG = 0;

    switch (event.key) {
      case "n": {
        var play = document.querySelector("form[data-play]");
        if (play) {
          event.preventDefault();
          submit(play);
        }
        break;
      }
      case "r": {
        var reply = document.getElementById("reply-text");
        if (reply && !reply.disabled) {
          event.preventDefault();
          reply.focus();
          reply.setSelectionRange(reply.value.length, reply.value.length);
        }
        break;
      }
      case "x": {
        // Gmail's and Front's habit: tick the row whose link has the focus (Tab moves down).
        var row = document.activeElement && document.activeElement.closest &&
          document.activeElement.closest("tr.ticket-row");
        var pick = row && row.querySelector("input[data-bulk-pick]");
        if (pick) {
          event.preventDefault();
          pick.checked = !pick.checked;
          updateBulkCount();
        }
        break;
      }
      case "g":
        pendingG = Date.now();
        break;
      case "?":
        event.preventDefault();
        toggleHelp();
        break;
      default:
        break;
    }
  }

  /* ---- reply character count, as the ticket's network counts (X: up to 280) ---- */

  // X's weighted length, as channels/length.py counts it: a link is 23 (t.co), Latin and
  // common punctuation 1, anything else (CJK, emoji) 2.
  var URL_WEIGHT = 23;
  var LIGHT = [[0, 4351], [8192, 8205], [8208, 8223], [8242, 8247]];

  // A link as channels/length.py finds one (x_length, x_has_link).
  var LINK = /https?:\/\/\S+/gi;

  function xLength(text) {
    var links = text.match(LINK) || [];
    var rest = Array.from(text.replace(LINK, ""));
    var weight = 0;
    for (var i = 0; i < rest.length; i++) {
      var code = rest[i].codePointAt(0);
      var light = false;
      for (var j = 0; j < LIGHT.length; j++) {
        if (code >= LIGHT[j][0] && code <= LIGHT[j][1]) { light = true; break; }
      }
      weight += light ? 1 : 2;
    }
    return weight + links.length * URL_WEIGHT;
  }

  // Mastodon and Bluesky count what a reader sees as one character (a grapheme cluster, as
  // channels/length.py's graphemes); Mastodon also counts a link as 23 and a remote mention
  // "@user@domain" as "@user" (mastodon_length).
  var REMOTE_MENTION = /(^|[^\w@])(@[A-Za-z0-9_]+)@[A-Za-z0-9.-]+[A-Za-z0-9]/g;

  function graphemes(text) {
    if (window.Intl && Intl.Segmenter) {
      return Array.from(new Intl.Segmenter(undefined, {granularity: "grapheme"}).segment(text)).length;
    }
    return Array.from(text).length;
  }

  function mastodonLength(text) {
    var links = text.match(LINK) || [];
    return graphemes(text.replace(LINK, "").replace(REMOTE_MENTION, "$1$2")) + links.length * URL_WEIGHT;
  }

  var COUNTERS = {x: xLength, mastodon: mastodonLength, graphemes: graphemes};

  function updateCount(textarea) {
    var max = parseInt(textarea.dataset.maxChars, 10);
    if (!max) return;
    var count = COUNTERS[textarea.dataset.lengthRule || "x"] || xLength;
    var length = count(textarea.value.trim());
    var counter = document.getElementById(textarea.getAttribute("aria-describedby") || "");
    if (counter) {
      counter.textContent = length + " / " + max;
      counter.classList.toggle("is-near", length > max - 20 && length <= max);
      counter.classList.toggle("is-over", length > max);
    }
    updateCostHint(textarea);
    if (textarea.form) {
      var buttons = textarea.form.querySelectorAll("button[type=submit]");
      for (var i = 0; i < buttons.length; i++) {
        buttons[i].disabled = length === 0 || length > max;
      }
    }
  }

  /* ---- link cost hint: X bills a post with a link many times a plain one ---- */

  // Prices come from the server (costs/partials.html#reply-cost-hint, the policy's
  // [x_billing]); the server renders the same hint for the text a form comes back with.
  function updateCostHint(textarea) {
    var hint = textarea.form && textarea.form.querySelector("[data-cost-hint]");
    if (!hint) return;
    var hasLink = textarea.value.search(LINK) !== -1;
    if (hasLink) {
      var plain = hint.dataset.pricePlain;
      var linked = hint.dataset.priceLink;
      var times = hint.dataset.priceMultiple;
      hint.textContent = plain && linked
        ? "This reply has a link: X bills it " + linked + " instead of " + plain +
          (times ? " (" + times + " times as much)" : "") + "."
        : "This reply has a link: X bills a post with a link far above a plain one.";
    }
    hint.hidden = !hasLink;
  }

  function onInput(event) {
    var target = event.target;
    if (target && target.matches && target.matches("textarea[data-max-chars]")) {
      updateCount(target);
    }
    if (target && target.closest && target.closest("#composer, #dm-box") && target.tagName === "TEXTAREA") {
      markTyping();
    }
  }

  /* ---- presence: the heartbeat says "typing" for a few seconds after the last key ---- */

  var TYPING_MS = 6000;
  var typingTimer = 0;

  function markTyping() {
    var form = document.getElementById("presence");
    var flag = form && form.querySelector("[data-typing-flag]");
    if (!flag) return;
    var wasTyping = flag.value === "1";
    flag.value = "1";
    clearTimeout(typingTimer);
    typingTimer = setTimeout(function () { flag.value = ""; }, TYPING_MS);
    // Tell the others at once rather than at the next beat.
    if (!wasTyping && window.htmx) window.htmx.trigger(form, "typing");
  }

  /* ---- polls that would wipe what is being typed wait until it is sent or cleared ---- */

  function hasDraft(root) {
    var active = document.activeElement;
    if (active && root.contains(active) && isTyping(active)) return true;
    var fields = root.querySelectorAll("textarea, input[type=text]");
    for (var i = 0; i < fields.length; i++) {
      if (fields[i].value.trim() !== "") return true;
    }
    return false;
  }

  // Disclosures (like, delete, suggest…) the agent opened stay open when a poll redraws them.
  var openDetails = {};
  document.addEventListener("toggle", function (event) {
    var node = event.target;
    if (!node || node.tagName !== "DETAILS" || !node.id) return;
    if (node.open) openDetails[node.id] = true;
    else delete openDetails[node.id];
    // One popover per post at a time.
    if (node.open && node.classList.contains("post-action") && node.parentNode) {
      var siblings = node.parentNode.querySelectorAll(".post-action[open]");
      for (var i = 0; i < siblings.length; i++) {
        if (siblings[i] !== node) siblings[i].open = false;
      }
    }
  }, true);

  function closePopovers() {
    var open = document.querySelectorAll(".post-action[open]");
    for (var i = 0; i < open.length; i++) open[i].open = false;
    return open.length > 0;
  }

  function reopenDetails(root) {
    var nodes = (root || document).querySelectorAll("details[id]");
    for (var i = 0; i < nodes.length; i++) {
      if (openDetails[nodes[i].id]) nodes[i].open = true;
    }
  }

  /* ---- ages: "12m", "3h", "2d", refreshed every half minute ---- */

  function compactAge(date) {
    var seconds = Math.max(0, (Date.now() - date.getTime()) / 1000);
    if (seconds < 60) return "now";
    var minutes = Math.floor(seconds / 60);
    if (minutes < 60) return minutes + "m";
    var hours = Math.floor(minutes / 60);
    if (hours < 48) return hours + "h";
    var days = Math.floor(hours / 24);
    if (days < 60) return days + "d";
    return Math.floor(days / 30) + "mo";
  }

  function refreshAges(root) {
    var nodes = (root || document).querySelectorAll("time.age[datetime]");
    for (var i = 0; i < nodes.length; i++) {
      var date = new Date(nodes[i].getAttribute("datetime"));
      if (!isNaN(date.getTime())) nodes[i].textContent = compactAge(date);
    }
  }

  function init(root) {
    refreshAges(root);
    reopenDetails(root);
    var areas = (root || document).querySelectorAll("textarea[data-max-chars]");
    for (var i = 0; i < areas.length; i++) updateCount(areas[i]);
    var forms = (root || document).querySelectorAll("form[data-submitting]");
    for (var j = 0; j < forms.length; j++) delete forms[j].dataset.submitting;
    updateBulkCount();
  }

  /* ---- evidence card: "Use this reply" puts a drafted reply in the composer ---- */

  function useReply(text) {
    var reply = document.getElementById("reply-text");
    if (!reply || reply.disabled || text === null) return;
    reply.value = text;
    // The count, the send buttons and the typing flag follow, as if typed.
    reply.dispatchEvent(new Event("input", { bubbles: true }));
    reply.focus();
    reply.setSelectionRange(reply.value.length, reply.value.length);
  }

  /* ---- macro picker: a macro goes in at the cursor, its first {placeholder} selected ---- */

  function insertReply(text) {
    var reply = document.getElementById("reply-text");
    if (!reply || reply.disabled || text === null) return;
    var start = reply.selectionStart, end = reply.selectionEnd;
    if (reply.value.trim() === "") { start = 0; end = reply.value.length; }
    reply.value = reply.value.slice(0, start) + text + reply.value.slice(end);
    reply.dispatchEvent(new Event("input", { bubbles: true }));
    reply.focus();
    // What the desk could not fill is left as "{name}": selected, so typing replaces it.
    var hole = /\{[a-z_]+\}/.exec(text);
    var from = hole ? start + hole.index : start + text.length;
    reply.setSelectionRange(from, hole ? from + hole[0].length : from);
    var picker = document.getElementById("macro-picker");
    if (picker) picker.open = false;
  }

  /* ---- a post arrived while typing: the banner names it, the conversation shows it ---- */

  function seenPost() {
    return document.querySelector("#composer [name=seen_post_id]");
  }

  // The banner (tickets:arrivals) polls more often than the conversation: when it names a
  // post the conversation does not show yet, the conversation is redrawn now.
  function showArrivals(box) {
    // The reply threads to the requester's newest post at send time: the "In reply to" line
    // names it from now on (the banner carries the line, drawn by the server).
    var line = document.getElementById("composer-thread");
    var now = box.querySelector("template[data-composer-thread]");
    if (line && now) {
      line.replaceChildren(now.content.cloneNode(true));
      line.setAttribute("data-thread-post", now.getAttribute("data-composer-thread"));
    }
    var activity = document.getElementById("ticket-activity");
    var posts = box.querySelectorAll("[data-arrived-post]");
    for (var i = 0; i < posts.length; i++) {
      var id = posts[i].getAttribute("data-arrived-post");
      if (activity && !activity.querySelector('[data-post-id="' + CSS.escape(id) + '"]')) {
        // As its own poll asks (source: the pause while typing in it applies too).
        if (window.htmx) {
          window.htmx.ajax("GET", activity.getAttribute("hx-get"),
            {source: activity, target: activity, swap: "outerHTML"});
        }
        return;
      }
    }
  }

  // "I've read it": the send now carries the newest post as seen, so it goes through.
  function readArrivals(newest) {
    var seen = seenPost();
    if (seen) seen.value = newest;
    var box = document.getElementById("arrivals");
    if (box) box.textContent = "";
    var reply = document.getElementById("reply-text");
    if (reply && !reply.disabled) reply.focus();
  }

  // A poll that left before "I've read it" names the posts just read: not drawn again.
  function staleArrivals(html) {
    var seen = seenPost();
    var banner = new DOMParser().parseFromString(html, "text/html").querySelector("[data-arrived]");
    return !!(seen && banner && banner.getAttribute("data-arrived") === seen.value);
  }

  /* ---- queue pulse: a ticket that entered the view shows within about a second ---- */

  // The rows' own poll redraws them every 5 s (ages, SLA, who took what). A redraw costs the
  // server a whole page of rows, so in between the page only asks whether a new ticket entered
  // the view (tickets:pulse, a few bytes of JSON) and runs the same poll at once when one did.
  var PULSE_MS = 1000;
  var pulseBusy = false;

  function pulse() {
    var rows = document.querySelector("#ticket-rows[data-pulse]");
    if (!rows || pulseBusy || document.hidden || leaving) return;
    pulseBusy = true;
    fetch(rows.getAttribute("data-pulse"), {
      credentials: "same-origin", cache: "no-store", headers: {Accept: "application/json"}
    })
      // A signed-out session answers with the login page: not JSON, so nothing happens (the
      // rows' own poll takes the person to sign in).
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (answer) {
        if (!answer || answer.version === undefined) return;
        var version = String(answer.version);
        if (version === rows.getAttribute("data-pulse-version")) return;
        rows.setAttribute("data-pulse-version", version);
        // As the rows' own poll asks (source: its pause while rows are ticked applies too).
        if (window.htmx) {
          window.htmx.ajax("GET", rows.getAttribute("hx-get"),
            {source: rows, target: rows, swap: "innerHTML"});
        }
      })
      .catch(function () { /* the next pulse asks again */ })
      .then(function () { pulseBusy = false; });
  }

  /* ---- feedback when the server cannot answer ---- */

  var toastTimer = 0;
  function toast(text) {
    var node = document.getElementById("toast");
    if (!node) return;
    node.textContent = text;
    node.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { node.hidden = true; }, 5000);
  }

  function releaseForms() {
    var forms = document.querySelectorAll("form[data-submitting]");
    for (var i = 0; i < forms.length; i++) delete forms[i].dataset.submitting;
  }

  /* ---- bulk actions: "select all" and the count of rows ticked ---- */

  function bulkPicks() {
    return document.querySelectorAll("input[data-bulk-pick]");
  }

  function updateBulkCount() {
    var picks = bulkPicks();
    var ticked = 0;
    for (var i = 0; i < picks.length; i++) if (picks[i].checked) ticked++;
    var count = document.querySelector("[data-bulk-count]");
    if (count) {
      count.textContent = ticked ? ticked + " selected" : "Tick tickets to act on many at once";
    }
    var all = document.querySelector("input[data-bulk-all]");
    if (all) {
      all.checked = picks.length > 0 && ticked === picks.length;
      all.indeterminate = ticked > 0 && ticked < picks.length;
    }
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (!target || !target.matches) return;
    if (target.matches("input[data-bulk-all]")) {
      var picks = bulkPicks();
      for (var i = 0; i < picks.length; i++) picks[i].checked = target.checked;
    }
    if (target.matches("input[data-bulk-all], input[data-bulk-pick]")) updateBulkCount();
  });

  function hasPicks(root) {
    return !!root.querySelector("input[data-bulk-pick]:checked");
  }

  document.addEventListener("keydown", onKeydown);
  document.addEventListener("input", onInput);
  document.addEventListener("click", function (event) {
    var opener = event.target.closest && event.target.closest("[data-shortcuts-open]");
    if (opener) toggleHelp();
    var use = event.target.closest && event.target.closest("[data-use-reply]");
    if (use) useReply(use.getAttribute("data-use-reply"));
    var insert = event.target.closest && event.target.closest("[data-insert-reply]");
    if (insert) insertReply(insert.getAttribute("data-insert-reply"));
    var read = event.target.closest && event.target.closest("[data-arrivals-read]");
    if (read) readArrivals(read.getAttribute("data-arrivals-read"));
  });
  document.addEventListener("DOMContentLoaded", function () { init(document); });
  // A page restored from the back/forward cache must accept a new submit.
  window.addEventListener("pageshow", releaseForms);
  document.addEventListener("htmx:load", function (event) { init(event.target); });
  // Once a poll found the session gone and the page is going to sign in, the other polls'
  // answers start no second navigation: two sign-in pages loading at once each set a CSRF
  // cookie, and the form left on screen could carry the other one's token.
  var leaving = false;
  document.addEventListener("htmx:beforeOnLoad", function (event) {
    if (leaving) {
      event.preventDefault();
      return;
    }
    var xhr = event.detail.xhr;
    if (xhr && xhr.getResponseHeader("HX-Redirect")) leaving = true;
  });
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (leaving) {
      event.preventDefault();
      return;
    }
    var elt = event.detail.elt;
    if (elt && elt.hasAttribute && elt.hasAttribute("data-pause-while-typing") && hasDraft(elt)) {
      event.preventDefault();
      return;
    }
    // A queue poll would redraw the rows and clear the lead's selection: it waits.
    if (elt && elt.hasAttribute && elt.hasAttribute("data-pause-while-picking") && hasPicks(elt)) {
      event.preventDefault();
      return;
    }
    // A navigation starts a new page: what was open on the old one stays closed.
    if (event.detail.boosted) openDetails = {};
  });
  document.addEventListener("htmx:beforeSwap", function (event) {
    // A poll that found the session expired was redirected to the login page: go there
    // instead of drawing the login form inside the table, and come back to this page after
    // it (the redirect's next= is the poll's partial).
    var xhr = event.detail.xhr;
    var url = xhr && xhr.responseURL;
    if (url && url.indexOf("/accounts/login/") !== -1) {
      event.detail.shouldSwap = false;
      leaving = true;
      var login = new URL(url);
      login.searchParams.set("next", window.location.pathname + window.location.search);
      window.location.assign(login.toString());
      return;
    }
    if (event.detail.target && event.detail.target.id === "arrivals" &&
        staleArrivals(event.detail.serverResponse || "")) {
      event.detail.shouldSwap = false;
      return;
    }
    // A page that shows a refusal (Slack not configured is a 503) is drawn like any page.
    if (xhr && xhr.getResponseHeader("X-Desk-Error")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "arrivals") {
      showArrivals(event.detail.target);
    }
  });
  document.addEventListener("htmx:responseError", function () {
    releaseForms();
    toast("The desk had a problem answering. Try again in a moment.");
  });
  document.addEventListener("htmx:sendError", function () {
    releaseForms();
    toast("Cannot reach the desk. Check your connection.");
  });
  setInterval(function () { refreshAges(document); }, 30000);
  setInterval(pulse, PULSE_MS);
})();
