// Starts the vendored ReDoc from a file (no inline script under the CSP); ReDoc tags the
// <style> elements it writes with the page's per-response nonce.
const root = document.getElementById("redoc");
window.Redoc.init(root.dataset.openapiUrl, { nonce: root.dataset.styleNonce }, root);
