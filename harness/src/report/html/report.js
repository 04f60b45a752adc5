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
    var feature = form.elements.feature.value, q = form.elements.q.value.trim().toLowerCase();
    function keep(el) {
      return verdicts[el.dataset.verdict] && severities[el.dataset.severity] &&
        (!feature || el.dataset.feature === feature);
    }
    var shown = 0;
    document.querySelectorAll("section.outcome").forEach(function (s) {
      var ok = keep(s) && (!q || s.textContent.toLowerCase().indexOf(q) >= 0);
      s.hidden = !ok;
      if (ok) shown++;
    });
    document.querySelectorAll("table.matrix tr.case").forEach(function (row) {
      var any = false;
      row.querySelectorAll("td.cell").forEach(function (c) {
        var ok = c.dataset.verdict !== "none" && keep(c);
        c.classList.toggle("dim", !ok);
        if (ok) any = true;
      });
      row.hidden = !any || (q && row.textContent.toLowerCase().indexOf(q) < 0 &&
        !Array.prototype.some.call(row.querySelectorAll("td.cell a"), function (a) {
          var t = document.getElementById(a.getAttribute("href").slice(1));
          return t && !t.hidden;
        }));
    });
    document.querySelectorAll("table.matrix tbody").forEach(function (b) {
      b.hidden = !b.querySelector("tr.case:not([hidden])");
    });
    document.getElementById("shown").textContent = shown + " shown";
  }
  form.addEventListener("input", apply);
  form.addEventListener("submit", function (e) { e.preventDefault(); });
  apply();
})();
