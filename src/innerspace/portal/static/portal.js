// innerspace portal: progressive enhancement only (every page works without it).
// App forms: each value is checked as it changes by the service's own check
// (GET <data-check>?field=&value=), so the page shows exactly the message a Run would give,
// at the field; a form with a bad value is not sent.
"use strict";

(function () {
  function showError(field, message) {
    const box = field.closest(".field");
    if (!box) { return; }
    const error = box.querySelector(".field-error");
    if (message) {
      field.setAttribute("aria-invalid", "true");
      box.classList.add("has-error");
      if (error) { error.textContent = message; error.hidden = false; }
    } else {
      field.removeAttribute("aria-invalid");
      box.classList.remove("has-error");
      if (error) { error.textContent = ""; error.hidden = true; }
    }
  }

  function valueOf(field) {
    if (field.type === "checkbox") { return field.checked ? "true" : "false"; }
    if (field.type === "file") { return ""; }  // a chosen file never comes here
    return field.value;
  }

  async function check(form, field) {
    if (field.type === "file" && field.files && field.files.length) {
      showError(field, "");
      return true;
    }
    const query = new URLSearchParams({ field: field.name, value: valueOf(field),
      version: form.dataset.version || "" });
    try {
      const answer = await fetch(form.dataset.check + "?" + query.toString(),
        { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!answer.ok) { return true; }  // the server checks again on Run
      const body = await answer.json();
      showError(field, body.message);
      return !body.message;
    } catch (e) {
      return true;
    }
  }

  function enhanceAppForm(form) {
    form.noValidate = true;  // the service's messages replace the browser's own
    const fields = Array.from(form.querySelectorAll(".field input, .field select"));
    fields.forEach(function (field) {
      field.addEventListener("change", function () { check(form, field); });
    });
    form.addEventListener("submit", function (event) {
      if (form.dataset.checked === "yes") { return; }
      event.preventDefault();
      Promise.all(fields.map(function (field) { return check(form, field); }))
        .then(function (results) {
          if (results.every(Boolean)) {
            form.dataset.checked = "yes";
            form.submit();
          } else {
            const first = form.querySelector("[aria-invalid='true']");
            if (first) { first.focus(); }
          }
        });
    });
  }

  function enhanceVersionPicker(form) {
    const select = form.querySelector("select");
    const button = form.querySelector("button");
    if (select && button) {
      button.hidden = true;
      select.addEventListener("change", function () { form.submit(); });
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form.app-form[data-check]").forEach(enhanceAppForm);
    document.querySelectorAll("form.version-picker").forEach(enhanceVersionPicker);
  });
}());
