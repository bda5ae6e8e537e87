// Used only by `python -m geoatlas.docscheck` (headless Chromium): with ?layoutcheck in the URL,
// report layout problems of the rendered page in a data attribute; otherwise it does nothing.
(function () {
  if (!/[?&]layoutcheck\b/.test(window.location.search)) return;
  function run() {
    var vw = document.documentElement.clientWidth, problems = [];
    if (document.documentElement.scrollWidth > vw + 2)
      problems.push("page wider than the window: " + document.documentElement.scrollWidth + " > " + vw);
    // what makes the page too wide: the outermost elements reaching past the window (code
    // blocks scroll on their own and are left out)
    if (document.documentElement.scrollWidth > vw + 2) {
      var culprits = [];
      document.querySelectorAll(".md-main *").forEach(function (el) {
        if (culprits.length >= 3 || el.closest("pre, .highlight")) return;
        var r = el.getBoundingClientRect(), p = el.parentElement.getBoundingClientRect();
        if (r.right > vw + 2 && p.right <= vw + 2) culprits.push("<" + el.tagName.toLowerCase() + "> " + (el.textContent || "").trim().slice(0, 50));
      });
      if (culprits.length) problems.push("too wide: " + culprits.join(" | "));
    }
    var content = document.querySelector(".md-content"), toc = document.querySelector(".md-sidebar--secondary");
    if (content && toc && toc.offsetParent !== null) {
      var c = content.getBoundingClientRect(), t = toc.getBoundingClientRect();
      if (t.left < c.right - 2 && t.right > c.left + 2 && t.width > 0) problems.push("the table of contents overlaps the content");
    }
    var maths = document.querySelectorAll("math"), empty = 0;
    maths.forEach(function (m) { if (m.getBoundingClientRect().width === 0) empty++; });
    if (empty) problems.push(empty + " of " + maths.length + " formulas have no width (not rendered)");
    var text = (document.querySelector(".md-content") || document.body).innerText;
    var tex = text.match(/\$\$|\\\(|\\\[|\\frac\{|\\mathbb\{|\\sum_/g);
    if (tex) problems.push("raw TeX visible: " + tex.slice(0, 5).join(" "));
    document.body.setAttribute("data-layoutcheck", JSON.stringify({ formulas: maths.length, problems: problems.slice(0, 20) }));
  }
  if (document.readyState === "complete") run(); else window.addEventListener("load", run);
})();
