/*
 * Progressive enhancement for every page. The site works without this file:
 * forms submit, links work. It only adds comfort:
 *
 *   [data-flash]             close button, auto-dismiss after data-autodismiss ms
 *   [data-password-toggle]   show/hide the password input named in aria-controls
 *   [data-password-policy]   live checklist in #<id>-rules (data-min-length,
 *                            data-max-bytes, data-require-classes, data-email-field,
 *                            data-email-value)
 *   [data-match]             "passwords match" hint in #<id>-match
 *   form[data-confirm]       window.confirm() before submitting (also on a submit button)
 *   time[data-local-time]    shows a UTC time in the visitor's time zone
 *   [data-history-back]      a "Go back" button
 *
 * Loaded with <script defer> from this origin only: the Content Security Policy
 * allows no inline script, so all behaviour lives here. Hooks are data-*
 * attributes; styling reacts to data-state through Tailwind's data-[...] variants.
 */
(function () {
  "use strict";

  var doc = document;

  function each(selector, fn, root) {
    Array.prototype.forEach.call((root || doc).querySelectorAll(selector), fn);
  }

  /* ---- Flash messages -------------------------------------------------- */

  function dismissFlash(el) {
    if (el.getAttribute("data-state") === "leaving") return;
    var hadFocus = el.contains(doc.activeElement);
    el.setAttribute("data-state", "leaving");
    var reduce = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    window.setTimeout(function () {
      var list = el.parentNode;
      el.remove();
      if (list && list.children.length === 0) list.remove();
      if (hadFocus) {
        var main = doc.getElementById("main");
        if (main) main.focus();
      }
    }, reduce ? 0 : 200);
  }

  function initFlash(el) {
    var button = el.querySelector("[data-flash-close]");
    if (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        dismissFlash(el);
      });
    }
    var delay = parseInt(el.getAttribute("data-autodismiss"), 10);
    if (!(delay > 0)) return;

    // Pause while the pointer is over the message or focus is inside it.
    var remaining = delay;
    var startedAt = 0;
    var timer = null;
    var holds = { pointer: false, focus: false };

    function start() {
      if (timer || holds.pointer || holds.focus) return;
      startedAt = Date.now();
      timer = window.setTimeout(function () {
        dismissFlash(el);
      }, remaining);
    }
    function stop() {
      if (!timer) return;
      window.clearTimeout(timer);
      timer = null;
      remaining = Math.max(1000, remaining - (Date.now() - startedAt));
    }
    function hold(kind, on) {
      holds[kind] = on;
      if (on) stop();
      else start();
    }
    el.addEventListener("mouseenter", function () { hold("pointer", true); });
    el.addEventListener("mouseleave", function () { hold("pointer", false); });
    el.addEventListener("focusin", function () { hold("focus", true); });
    el.addEventListener("focusout", function (event) {
      if (!el.contains(event.relatedTarget)) hold("focus", false);
    });
    start();
  }

  /* ---- Show / hide password --------------------------------------------- */

  function initPasswordToggle(button) {
    var input = doc.getElementById(button.getAttribute("aria-controls"));
    if (!input) return;
    var showIcon = button.querySelector('[data-toggle-icon="show"]');
    var hideIcon = button.querySelector('[data-toggle-icon="hide"]');

    function set(visible) {
      input.type = visible ? "text" : "password";
      button.setAttribute("aria-pressed", visible ? "true" : "false");
      if (showIcon) showIcon.hidden = visible;
      if (hideIcon) hideIcon.hidden = !visible;
    }

    button.hidden = false;
    button.addEventListener("click", function () {
      set(input.type === "password");
    });
    // Hand the field back to password managers as a password before it is sent.
    if (input.form) {
      input.form.addEventListener("submit", function () {
        set(false);
      });
    }
  }

  /* ---- Password policy hints ---------------------------------------------- */

  // These mirror passwords.py; the server checks everything again.
  var encoder = typeof TextEncoder === "function" ? new TextEncoder() : null;

  function utf8Length(text) {
    // The server normalises to NFKC before counting bcrypt's 72 bytes.
    if (text.normalize) text = text.normalize("NFKC");
    if (encoder) return encoder.encode(text).length;
    return unescape(encodeURIComponent(text)).length;
  }

  function characterCount(text) {
    // Code points, not UTF-16 units: an emoji counts once, as in Python's len().
    return Array.from(text).length;
  }

  function localPart(email) {
    // Like email.partition("@")[0]; parts shorter than 3 characters are not checked.
    var local = (email || "").split("@")[0].toLowerCase();
    return local.length >= 3 ? local : "";
  }

  var CLASS_TESTS = (function () {
    try {
      // Unicode-aware like Python's islower/isupper/isdigit/isalnum.
      return ["\\p{Ll}", "\\p{Lu}", "\\p{Nd}", "[^\\p{L}\\p{N}]"].map(function (source) {
        return new RegExp(source, "u");
      });
    } catch (error) {
      return [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/];
    }
  })();

  function hasCharacterClasses(text) {
    return CLASS_TESTS.every(function (pattern) {
      return pattern.test(text);
    });
  }

  var STATUS_TEXT = { met: "Done: ", failed: "Not met: ", pending: "" };

  function setRule(list, name, state) {
    var item = list.querySelector('[data-rule="' + name + '"]');
    if (!item) return;
    item.setAttribute("data-state", state);
    var status = item.querySelector("[data-rule-status]");
    if (status) status.textContent = STATUS_TEXT[state] || "";
  }

  function initPasswordPolicy(input) {
    var list = doc.getElementById(input.id + "-rules");
    if (!list) return;
    var minLength = parseInt(input.getAttribute("data-min-length"), 10) || 12;
    var maxBytes = parseInt(input.getAttribute("data-max-bytes"), 10) || 72;
    var requireClasses = input.getAttribute("data-require-classes") === "true";
    var emailFieldId = input.getAttribute("data-email-field");
    var emailInput = emailFieldId ? doc.getElementById(emailFieldId) : null;
    var emailValue = input.getAttribute("data-email-value") || "";

    function update() {
      var value = input.value;
      var empty = value.length === 0;

      setRule(list, "length", characterCount(value) >= minLength ? "met" : "pending");
      setRule(list, "bytes", empty ? "pending" : utf8Length(value) <= maxBytes ? "met" : "failed");
      if (requireClasses) {
        setRule(list, "classes", hasCharacterClasses(value) ? "met" : "pending");
      }
      if (emailInput || emailValue) {
        var local = localPart(emailInput ? emailInput.value : emailValue);
        if (empty || !local) setRule(list, "email", "pending");
        else setRule(list, "email", value.toLowerCase().indexOf(local) === -1 ? "met" : "failed");
      }
      // "Not a commonly used password" is checked by the server only.
    }

    input.addEventListener("input", update);
    if (emailInput) emailInput.addEventListener("input", update);
    update();
  }

  /* ---- Confirm password ------------------------------------------------------- */

  function initMatch(input) {
    var other = doc.getElementById(input.getAttribute("data-match"));
    var status = doc.getElementById(input.id + "-match");
    if (!other || !status) return;
    var last = null;

    function update() {
      var state = "pending";
      if (input.value && other.value) state = input.value === other.value ? "met" : "failed";
      else if (input.value) state = "failed";
      if (state === last) return;
      last = state;
      status.setAttribute("data-state", state);
      status.textContent = state === "met" ? "\u2713 Passwords match" : state === "failed" ? "\u2717 Passwords do not match yet" : "";
    }

    input.addEventListener("input", update);
    other.addEventListener("input", update);
    update();
  }

  /* ---- Times in the visitor's zone -------------------------------------------------- */

  function initLocalTimes() {
    if (!window.Intl || !Intl.DateTimeFormat) return;
    var format;
    try {
      format = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
    } catch (error) {
      return;
    }
    each("time[data-local-time]", function (el) {
      var date = new Date(el.getAttribute("datetime"));
      if (isNaN(date.getTime())) return;
      el.title = el.textContent.trim();
      el.textContent = format.format(date);
    });
  }

  /* ---- Forms: confirmation and double-submit guard ----------------------------------- */

  doc.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    var submitter = event.submitter;
    var message = (submitter && submitter.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
      return;
    }
    if (form.getAttribute("data-submitting") === "true") {
      event.preventDefault();
      return;
    }
    form.setAttribute("data-submitting", "true");
    var busy = submitter || form.querySelector('[type="submit"]');
    if (busy) busy.setAttribute("aria-disabled", "true");
    // Let the form be sent again if the page is still here after a while.
    window.setTimeout(function () {
      releaseForm(form);
    }, 8000);
  });

  function releaseForm(form) {
    form.removeAttribute("data-submitting");
    each('[aria-disabled="true"]', function (button) {
      button.removeAttribute("aria-disabled");
    }, form);
  }

  // Coming back with the Back button restores the page as it was: unlock its forms.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) each("form[data-submitting]", releaseForm);
  });

  /* ---- Start ----------------------------------------------------------------------------- */

  function init() {
    each("[data-flash]", initFlash);
    each("[data-password-toggle]", initPasswordToggle);
    each("input[data-password-policy]", initPasswordPolicy);
    each("input[data-match]", initMatch);
    each("[data-history-back]", function (button) {
      if (window.history.length < 2) return;
      button.hidden = false;
      button.addEventListener("click", function () {
        window.history.back();
      });
    });
    initLocalTimes();

    // After a failed submission, put the keyboard on the first field to fix.
    var invalid = doc.querySelector('[aria-invalid="true"]');
    if (invalid) invalid.focus();
  }

  if (doc.readyState === "loading") doc.addEventListener("DOMContentLoaded", init);
  else init();
})();
