/** A step's prose: the server's rendered Markdown, copied through an allow-list of elements (text is never parsed as markup twice), with its maths rendered. */
import { renderMaths } from "./maths.js";

// The server escapes a lesson file's text; this is a second guard, so a teacher's file can never
// bring a script, an event handler or a style into the page.
const ALLOWED = new Set(["P", "UL", "OL", "LI", "CODE", "PRE", "STRONG", "EM", "B", "I", "BR", "SPAN", "DIV", "BLOCKQUOTE", "A", "H3", "H4", "SUP", "SUB"]);
const KEPT_CLASSES = new Set(["math", "display", "math-display", "math-inline"]);

function safeHref(href) {
  try {
    const url = new URL(href, window.location.href);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

function copy(node, doc) {
  if (node.nodeType === Node.TEXT_NODE) return doc.createTextNode(node.textContent);
  if (node.nodeType !== Node.ELEMENT_NODE) return null;
  const children = [...node.childNodes].map((child) => copy(child, doc)).filter(Boolean);
  if (!ALLOWED.has(node.tagName)) return doc.createTextNode(node.textContent); // unknown: its text only
  const element = doc.createElement(node.tagName.toLowerCase());
  const classes = [...node.classList].filter((c) => KEPT_CLASSES.has(c));
  if (classes.length) element.className = classes.join(" ");
  if (node.tagName === "A") {
    const href = safeHref(node.getAttribute("href") ?? "");
    if (href) {
      element.href = href;
      element.target = "_blank";
      element.rel = "noopener noreferrer";
    }
  }
  element.append(...children);
  return element;
}

/** Fills `container` with the prose `html`, keeping only allowed elements, and renders its maths. */
export function showProse(container, html) {
  const parsed = new DOMParser().parseFromString(`<body>${html ?? ""}</body>`, "text/html");
  const doc = container.ownerDocument;
  container.replaceChildren(...[...parsed.body.childNodes].map((n) => copy(n, doc)).filter(Boolean));
  for (const maths of container.querySelectorAll(".math")) renderMaths(maths);
}
