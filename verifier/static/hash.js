// Hash the chosen PDF in the browser (WebCrypto) and look the fingerprint up: the file
// never leaves the device. A separate file, not an inline script: the pages'
// Content-Security-Policy allows scripts from this origin only.
document.getElementById('hash-form').addEventListener('submit', async function (event) {
  event.preventDefault();
  const form = event.currentTarget;
  const file = document.getElementById('hash-file').files[0];
  const status = document.getElementById('hash-status');
  if (!file) { return; }
  if (!window.crypto || !crypto.subtle) { status.textContent = form.dataset.noCrypto; return; }
  status.textContent = form.dataset.hashing;
  const digest = await crypto.subtle.digest('SHA-256', await file.arrayBuffer());
  const hex = Array.from(new Uint8Array(digest)).map(b => b.toString(16).padStart(2, '0')).join('');
  window.location = '/verify/hash?lang=' + encodeURIComponent(form.dataset.lang) + '&sha256=' + hex;
});
