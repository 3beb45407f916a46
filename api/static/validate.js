// Progressive enhancement of the validation form: the form works without this script.
// With it, the format follows the chosen file's name, and the report replaces the old one
// without reloading the page.
(function () {
  "use strict";
  var form = document.getElementById("validate-form");
  if (!form || !window.fetch || !window.FormData) { return; }
  var file = document.getElementById("file");
  var syntax = document.getElementById("syntax");
  var bySuffix = { ttl: "turtle", jsonld: "jsonld", json: "jsonld", rdf: "rdfxml", xml: "rdfxml", nt: "ntriples" };
  file.addEventListener("change", function () {
    var name = file.files.length ? file.files[0].name : "";
    var suffix = name.split(".").pop().toLowerCase();
    if (bySuffix[suffix]) { syntax.value = bySuffix[suffix]; }
  });
  form.addEventListener("submit", function (event) {
    // the report's download and print buttons post to their own address: let them
    if (event.submitter && event.submitter.hasAttribute("formaction")) { return; }
    event.preventDefault();
    form.classList.add("busy");
    fetch(form.action, { method: "POST", body: new FormData(form), headers: { "Accept": "text/html" } })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById("report");
        var old = document.getElementById("report");
        if (fresh && old) { old.replaceWith(fresh); } else { form.submit(); }
      })
      .catch(function () { form.submit(); })
      .finally(function () { form.classList.remove("busy"); });
  });
}());
// The printable report (/validate?format=print): a button that opens the print dialogue.
(function () {
  "use strict";
  var button = document.getElementById("print-report");
  if (!button || !window.print) { return; }
  button.hidden = false;
  button.addEventListener("click", function () { window.print(); });
}());
