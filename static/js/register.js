// The "Send code" button: asks the server to mail a code, then waits out the resend delay.
(function () {
  "use strict";
  var button = document.getElementById("send-code");
  var form = document.getElementById("register-form");
  var status = document.getElementById("send-code-status");
  if (!button || !form) { return; }
  var label = button.textContent;

  function show(message, ok) {
    status.textContent = message;
    status.classList.toggle("text-success", ok === true);
    status.classList.toggle("text-danger", ok === false);
  }

  function countdown(seconds) {
    button.disabled = true;
    var left = seconds;
    button.textContent = "Resend in " + left + " s";
    var timer = window.setInterval(function () {
      left -= 1;
      if (left <= 0) {
        window.clearInterval(timer);
        button.disabled = false;
        button.textContent = label;
      } else {
        button.textContent = "Resend in " + left + " s";
      }
    }, 1000);
  }

  button.addEventListener("click", function () {
    var email = form.elements.email.value.trim();
    if (!email) {
      show("Enter your email address first.", false);
      form.elements.email.focus();
      return;
    }
    var body = new FormData();
    body.append("email", email);
    button.disabled = true;
    fetch(button.dataset.url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: {"X-CSRFToken": form.elements.csrf_token.value, "Accept": "application/json"}
    }).then(function (response) {
      return response.json().then(function (data) { return {status: response.status, data: data}; });
    }).then(function (result) {
      show(result.data.message, result.status === 200);
      if (result.status === 200) {
        countdown(parseInt(button.dataset.wait, 10) || 60);
      } else if (result.status === 429 && result.data.retry_after) {
        countdown(result.data.retry_after);
      } else {
        button.disabled = false;
      }
    }).catch(function () {
      show("Could not reach the server. Check your connection and try again.", false);
      button.disabled = false;
    });
  });
}());
