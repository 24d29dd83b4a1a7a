/*
 * The e-mail verification page (auth/verify.html), on top of app.js:
 *
 *   [data-otp]               keeps a one-time-code input to its digits
 *   [data-resend-wait]       disables a button and counts down that many seconds
 *
 * Without it the page still works: the server enforces the resend cooldown.
 */
(function () {
  "use strict";

  /* ---- One-time code ------------------------------------------------------------- */

  function initOtp(input) {
    var max = parseInt(input.getAttribute("maxlength"), 10) || 6;
    function clean(text) {
      return (text || "").replace(/\D+/g, "").slice(0, max);
    }
    input.addEventListener("input", function () {
      var cleaned = clean(input.value);
      if (cleaned !== input.value) input.value = cleaned;
    });
    // A pasted "123 456" or "Code: 123456" would be cut short by maxlength: keep the digits.
    input.addEventListener("paste", function (event) {
      var data = event.clipboardData && event.clipboardData.getData("text");
      if (!data) return;
      event.preventDefault();
      input.value = clean(data);
      input.dispatchEvent(new Event("input", { bubbles: true }));
    });
  }

  /* ---- Resend countdown ---------------------------------------------------------- */

  function formatSeconds(total) {
    var minutes = Math.floor(total / 60);
    var seconds = total % 60;
    return minutes + ":" + (seconds < 10 ? "0" : "") + seconds;
  }

  function initResend(button) {
    var wait = parseInt(button.getAttribute("data-resend-wait"), 10) || 0;
    if (wait <= 0) return;
    var countdown = button.querySelector("[data-resend-countdown]");
    var region = button.form && button.form.parentNode.querySelector("[data-resend-status]");
    var endsAt = Date.now() + wait * 1000;

    button.disabled = true;
    function tick() {
      var left = Math.ceil((endsAt - Date.now()) / 1000);
      if (left > 0) {
        if (countdown) countdown.textContent = " in " + formatSeconds(left);
        window.setTimeout(tick, 250);
        return;
      }
      if (countdown) countdown.textContent = "";
      button.disabled = false;
      if (region) region.textContent = "You can now ask for a new code.";
    }
    tick();
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("input[data-otp]"), initOtp);
    Array.prototype.forEach.call(document.querySelectorAll("[data-resend-wait]"), initResend);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
