// The claims browser's filters: show the rows that match every chosen filter, and keep the
// choice in the address (#claimant=kor-nis&quantity=killed) so that a view can be shared.
// No library: the rows are in the page, so it works from file:// and without a server.
(function () {
  "use strict";
  var form = document.getElementById("filters");
  var rows = Array.prototype.slice.call(document.querySelectorAll("table.claims tbody tr"));
  var shown = document.getElementById("shown");
  var fields = ["claimant", "quantity", "subject", "kind"];

  function apply() {
    var from = form.elements.from.value, to = form.elements.to.value, count = 0;
    rows.forEach(function (row) {
      var match = fields.every(function (name) {
        var wanted = form.elements[name].value;
        return !wanted || row.dataset[name] === wanted;
      });
      // A claim is kept when its date span overlaps the chosen one (ISO dates compare as text).
      match = match && (!from || row.dataset.latest >= from) && (!to || row.dataset.earliest <= to);
      row.hidden = !match;
      if (match) { count += 1; }
    });
    shown.textContent = shown.dataset.template.replace("{shown}", count).replace("{total}", rows.length);
  }

  function remember() {
    var parts = [];
    fields.concat(["from", "to"]).forEach(function (name) {
      var value = form.elements[name].value;
      if (value) { parts.push(name + "=" + encodeURIComponent(value)); }
    });
    history.replaceState(null, "", parts.length ? "#" + parts.join("&") : location.pathname);
  }

  function restore() {
    var hash = location.hash.slice(1);
    if (hash.indexOf("=") < 0) { return; }  // a link to one claim (#c018), not a filter
    hash.split("&").forEach(function (part) {
      var pair = part.split("="), element = form.elements[pair[0]];
      if (element) { element.value = decodeURIComponent(pair[1] || ""); }
    });
  }

  form.addEventListener("change", function () { apply(); remember(); });
  document.getElementById("show-all").addEventListener("click", function () { form.reset(); apply(); remember(); });
  restore();
  apply();
}());
