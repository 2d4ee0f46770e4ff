/** Inline and display maths as text: a few TeX commands become their symbols, ^ and _ become superscripts and subscripts (no maths library to download). */

const SYMBOLS = {
  partial: "∂", nabla: "∇", sigma: "σ", Sigma: "Σ", sum: "Σ", delta: "δ", Delta: "Δ",
  alpha: "α", beta: "β", lambda: "λ", theta: "θ", mu: "μ", pi: "π", infty: "∞",
  cdot: "·", times: "×", ne: "≠", neq: "≠", le: "≤", leq: "≤", ge: "≥", geq: "≥",
  approx: "≈", leftarrow: "←", rightarrow: "→", to: "→", pm: "±",
  max: "max", min: "min", exp: "exp", log: "log",
  quad: "\u2003", qquad: "\u2003\u2003", ",": "\u2009", ";": "\u2005", " ": " ",
  "{": "{", "}": "}", "\\": "\n",
};
// symbols that are not operators: TeX drops the space after a control word, so "\partial f"
// reads "∂f"; operators such as \cdot keep the spaces written around them
const SWALLOW_SPACE = new Set(["partial", "nabla", "sigma", "Sigma", "sum", "delta", "Delta", "alpha", "beta", "lambda", "theta", "mu", "pi"]);
// commands whose one argument is shown as plain text
const TEXT_ARGUMENT = new Set(["mathrm", "text", "mathbf", "operatorname", "mathit"]);

/** Parses TeX source from position `i` up to a closing brace (or the end) into DOM nodes. */
function parse(source, start, doc, stopAtBrace) {
  const nodes = [];
  let text = "";
  let i = start;
  const flush = () => {
    if (text) nodes.push(doc.createTextNode(text));
    text = "";
  };
  // one argument of ^, _ or a command: a {group} or a single character or \command
  const argument = () => {
    if (source[i] === "{") {
      const [inner, next] = parse(source, i + 1, doc, true);
      i = next;
      return inner;
    }
    if (source[i] === "\\") {
      const match = /^\\([A-Za-z]+|.)/.exec(source.slice(i));
      i += match ? match[0].length : 1;
      return [doc.createTextNode(match ? (SYMBOLS[match[1]] ?? match[1]) : "")];
    }
    const ch = source[i] ?? "";
    i += 1;
    return [doc.createTextNode(ch)];
  };
  while (i < source.length) {
    const ch = source[i];
    if (ch === "}" && stopAtBrace) return [flushed(), i + 1];
    if (ch === "{" || ch === "}") {
      i += 1; // a bare group only groups
    } else if (ch === "^" || ch === "_") {
      flush();
      i += 1;
      const element = doc.createElement(ch === "^" ? "sup" : "sub");
      element.append(...argument());
      nodes.push(element);
    } else if (ch === "\\") {
      const match = /^\\([A-Za-z]+|.)/.exec(source.slice(i)) ?? ["\\", "\\"];
      i += match[0].length;
      const name = match[1];
      if (name === "frac") {
        flush();
        nodes.push(...argument(), doc.createTextNode("/"), ...argument());
      } else if (TEXT_ARGUMENT.has(name)) {
        flush();
        nodes.push(...argument());
      } else {
        text += SYMBOLS[name] ?? name;
        if (SWALLOW_SPACE.has(name)) while (source[i] === " ") i += 1;
      }
    } else {
      text += ch;
      i += 1;
    }
  }
  return [flushed(), i];

  function flushed() {
    flush();
    return nodes;
  }
}

/** Replaces the TeX text of `element` with its rendering (built from text nodes, sup and sub only). */
export function renderMaths(element) {
  const source = element.textContent;
  const [nodes] = parse(source, 0, element.ownerDocument, false);
  element.replaceChildren(...nodes);
  element.setAttribute("aria-label", source);
}
