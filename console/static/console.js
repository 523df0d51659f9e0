// The console's only script (no inline script: the Content-Security-Policy forbids it).
// It checks fields as they are typed; the server checks everything again.
"use strict";

// GB 11643-1999: 17 digits, a check digit (or X), a real birth date.
const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK = "10X98765432";

function idNumberProblem(value, zh) {
  const v = value.trim().toUpperCase();
  if (v === "") return "";
  if (!/^\d{17}[\dX]$/.test(v)) return zh ? "应为18位：前17位为数字，最后一位为数字或X" : "must be 18 characters: 17 digits and a digit or X";
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(v[i]) * ID_WEIGHTS[i];
  if (ID_CHECK[sum % 11] !== v[17]) return zh ? "校验码不符（GB 11643），请核对号码" : "check digit does not match (GB 11643)";
  const y = Number(v.slice(6, 10)), m = Number(v.slice(10, 12)), d = Number(v.slice(12, 14));
  const date = new Date(Date.UTC(y, m - 1, d));
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d) {
    return zh ? "出生日期不存在" : "contains an impossible birth date";
  }
  return "";
}

function showProblem(input, message) {
  input.setCustomValidity(message);
  input.classList.toggle("bad", message !== "");
  let note = document.getElementById(input.id + "-live");
  if (!note) {
    note = document.createElement("p");
    note.id = input.id + "-live";
    note.className = "field-error";
    note.setAttribute("aria-live", "polite");
    input.insertAdjacentElement("afterend", note);
  }
  note.textContent = message;
}

function checkField(input) {
  const zh = document.documentElement.lang.startsWith("zh");
  if (input.dataset.idnumber !== undefined) {
    showProblem(input, idNumberProblem(input.value, zh));
    return;
  }
  input.setCustomValidity("");
  showProblem(input, input.validity.valid || input.value === "" ? "" : input.validationMessage);
}

document.addEventListener("DOMContentLoaded", () => {
  for (const input of document.querySelectorAll("form.matter-form input, form.matter-form textarea, form.matter-form select")) {
    input.addEventListener("input", () => checkField(input));
    input.addEventListener("blur", () => checkField(input));
  }
  const language = document.querySelector("form.matter-form select[name=language]");
  if (language) {
    language.addEventListener("change", () => {
      language.form.dataset.bilingual = language.value === "zh-en" ? "yes" : "no";
    });
  }
  for (const button of document.querySelectorAll("button[data-print]")) {
    button.addEventListener("click", () => window.print());
  }
});
