// The password-reset page (app/web/reset_page.py): sends the new password with the token from
// this page's own address to POST /password-reset/confirm, and shows the answer. Kept out of
// the HTML: the page's Content-Security-Policy allows no inline script.
(function () {
  const confirmUrl = document.currentScript.dataset.confirmUrl;
  const token = new URLSearchParams(window.location.search).get("token") || "";
  const form = document.getElementById("reset-form");
  const password = document.getElementById("new-password");
  const repeated = document.getElementById("repeated-password");
  const answer = document.getElementById("answer");
  const button = form.querySelector("button");

  function show(text, outcome) {
    answer.textContent = text;
    answer.className = outcome;
  }

  // {"detail": "..."} from the service, or FastAPI's 422 list of {"loc", "msg", "type"}.
  function describe(body) {
    if (body && typeof body.detail === "string") return body.detail;
    if (body && Array.isArray(body.detail)) {
      return body.detail.map((problem) => problem.msg).join("; ");
    }
    return "Something went wrong";
  }

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    if (password.value !== repeated.value) {
      show("The two passwords differ: type the same one twice.", "refused");
      return;
    }
    button.disabled = true;
    show("Sending...", "");
    try {
      const response = await fetch(confirmUrl, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ token: token, new_password: password.value }),
      });
      const body = await response.json().catch(() => null);
      if (response.ok) {
        form.hidden = true;
        show(`${body.message}. Log in with the new password.`, "done");
      } else {
        show(`${describe(body)} (${response.status})`, "refused");
      }
    } catch (error) {
      show("The server could not be reached: try again.", "refused");
    } finally {
      button.disabled = false;
    }
  });
})();
