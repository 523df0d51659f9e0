// Check a file against a preservation certificate: hash it in the browser (WebCrypto) and
// send only its fingerprint; the file never leaves the device. Without WebCrypto (or without
// script) the form uploads the file instead, which the server hashes and does not keep.
// A separate file, not an inline script: the pages' Content-Security-Policy allows scripts
// from this origin only.
document.getElementById('evidence-form').addEventListener('submit', async function (event) {
  const form = event.currentTarget;
  const file = document.getElementById('evidence-file').files[0];
  const status = document.getElementById('evidence-status');
  if (!file) { return; }
  if (!window.crypto || !crypto.subtle) { status.textContent = form.dataset.noCrypto; return; }
  event.preventDefault();
  status.textContent = form.dataset.hashing;
  const digest = await crypto.subtle.digest('SHA-256', await file.arrayBuffer());
  const hex = Array.from(new Uint8Array(digest)).map(b => b.toString(16).padStart(2, '0')).join('');
  window.location = form.dataset.checkUrl + '&sha256=' + hex;
});
