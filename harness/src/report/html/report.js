"use strict";
(function () {
  var form = document.getElementById("filters");
  if (!form) return;
  form.hidden = false;
  function checked(name) {
    var set = {};
    form.querySelectorAll("input[name=" + name + "]").forEach(function (i) { if (i.checked) set[i.value] = true; });
    return set;
  }
  function apply() {
    var verdicts = checked("verdict"), severities = checked("severity");
    var feature = form.elements.feature.value, target = form.elements.target.value, q = form.elements.q.value.trim().toLowerCase();
    function keep(el) {
      return verdicts[el.dataset.verdict] && severities[el.dataset.severity] &&
        (!feature || el.dataset.feature === feature) && (!target || el.dataset.target === target);
    }
    var shown = 0;
    document.querySelectorAll("section.outcome").forEach(function (s) {
      var ok = keep(s) && (!q || s.textContent.toLowerCase().indexOf(q) >= 0);
      s.hidden = !ok;
      if (ok) shown++;
    });
    // A matrix row stays while one of its cells links to a shown outcome; other cells dim.
    document.querySelectorAll("table.matrix tr.case").forEach(function (row) {
      var any = false;
      row.querySelectorAll("td.cell").forEach(function (c) {
        var a = c.querySelector("a"), t = a && document.getElementById(a.getAttribute("href").slice(1));
        var ok = !!t && !t.hidden;
        c.classList.toggle("dim", !ok);
        if (ok) any = true;
      });
      row.hidden = !any;
    });
    document.querySelectorAll("table.matrix tbody").forEach(function (b) {
      b.hidden = !b.querySelector("tr.case:not([hidden])");
    });
    document.getElementById("shown").textContent = shown + " shown";
  }
  // ?verdict=diverges,error&severity=breaking&feature=chat&target=gemini&q=text presets the filters (shareable links).
  var params = new URLSearchParams(window.location.search);
  ["verdict", "severity"].forEach(function (name) {
    if (!params.has(name)) return;
    var wanted = params.get(name).split(",");
    form.querySelectorAll("input[name=" + name + "]").forEach(function (i) { i.checked = wanted.indexOf(i.value) >= 0; });
  });
  if (params.has("feature")) form.elements.feature.value = params.get("feature");
  if (params.has("target")) form.elements.target.value = params.get("target");
  if (params.has("q")) form.elements.q.value = params.get("q");
  form.addEventListener("input", apply);
  form.addEventListener("submit", function (e) { e.preventDefault(); });
  apply();
})();
