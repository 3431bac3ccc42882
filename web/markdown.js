// A small, safe markdown renderer for model descriptions (docs/web.md). All text is
// HTML-escaped first; only the tags made here are produced. Supports headings, paragraphs,
// fenced code, inline code, bold, italic, links (http, https, relative, #), lists, pipe tables
// and horizontal rules. Anything else stays as escaped text.
"use strict";

const Markdown = (() => {
  function escapeHtml(s) {
    return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
  }

  // Inline markup on already-escaped text. Code spans are cut out first so nothing inside
  // them is interpreted.
  function inline(escaped) {
    const codes = [];
    let s = escaped.replace(/`([^`]+)`/g, (_, c) => { codes.push(c); return "\u0000" + (codes.length - 1) + "\u0000"; });
    s = s.replace(/\[([^\]]+)\]\(([^)\s]+)\)/g, (m, text, url) => {
      if (!/^(https?:\/\/|\/|#|\.\/)[^\s]*$/i.test(url) || /^\/\//.test(url)) return m;
      return '<a href="' + url + '" rel="noopener noreferrer">' + text + "</a>";
    });
    s = s.replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>");
    s = s.replace(/(^|[^*\w])\*([^*\s][^*]*)\*(?!\w)/g, "$1<em>$2</em>");
    s = s.replace(/(^|[^_\w])_([^_\s][^_]*)_(?!\w)/g, "$1<em>$2</em>");
    return s.replace(/\u0000(\d+)\u0000/g, (_, i) => "<code>" + codes[Number(i)] + "</code>");
  }

  function splitRow(line) {
    let t = line.trim();
    if (t.startsWith("|")) t = t.slice(1);
    if (t.endsWith("|")) t = t.slice(0, -1);
    return t.split("|").map((c) => c.trim());
  }

  function render(text) {
    const lines = String(text).replace(/\r\n?/g, "\n").split("\n");
    const out = [];
    let i = 0;
    let para = [];
    const flush = () => {
      if (para.length) out.push("<p>" + inline(escapeHtml(para.join(" "))) + "</p>");
      para = [];
    };
    while (i < lines.length) {
      const line = lines[i];
      const fence = line.match(/^\s*```/);
      if (fence) {
        flush();
        const code = [];
        i++;
        while (i < lines.length && !/^\s*```/.test(lines[i])) code.push(lines[i++]);
        i++;
        out.push("<pre><code>" + escapeHtml(code.join("\n")) + "</code></pre>");
        continue;
      }
      const h = line.match(/^(#{1,6})\s+(.*)$/);
      if (h) {
        flush();
        const n = h[1].length;
        out.push("<h" + n + ">" + inline(escapeHtml(h[2].trim())) + "</h" + n + ">");
        i++;
        continue;
      }
      if (/^\s*(-{3,}|\*{3,})\s*$/.test(line)) { flush(); out.push("<hr>"); i++; continue; }
      if (/^\s*\|.*\|\s*$/.test(line) && i + 1 < lines.length && /^\s*\|?\s*:?-{3,}/.test(lines[i + 1])) {
        flush();
        const head = splitRow(line);
        i += 2;
        const rows = [];
        while (i < lines.length && /^\s*\|.*\|\s*$/.test(lines[i])) rows.push(splitRow(lines[i++]));
        let t = "<table><thead><tr>" + head.map((c) => "<th>" + inline(escapeHtml(c)) + "</th>").join("") + "</tr></thead><tbody>";
        for (const r of rows) t += "<tr>" + r.map((c) => "<td>" + inline(escapeHtml(c)) + "</td>").join("") + "</tr>";
        out.push(t + "</tbody></table>");
        continue;
      }
      const li = line.match(/^\s*([-*+]|\d+\.)\s+(.*)$/);
      if (li) {
        flush();
        const ordered = /\d/.test(li[1]);
        const items = [];
        while (i < lines.length) {
          const m = lines[i].match(/^\s*([-*+]|\d+\.)\s+(.*)$/);
          if (!m) {
            if (/^\s{2,}\S/.test(lines[i]) && items.length) { items[items.length - 1] += " " + lines[i].trim(); i++; continue; }
            break;
          }
          items.push(m[2]);
          i++;
        }
        const tag = ordered ? "ol" : "ul";
        out.push("<" + tag + ">" + items.map((it) => "<li>" + inline(escapeHtml(it)) + "</li>").join("") + "</" + tag + ">");
        continue;
      }
      if (/^\s*$/.test(line)) { flush(); i++; continue; }
      para.push(line.trim());
      i++;
    }
    flush();
    return out.join("\n");
  }

  return { render, escapeHtml };
})();
