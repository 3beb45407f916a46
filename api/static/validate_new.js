// Progressive enhancement of the strategy form (/validate/new): the form works without
// this script (a "More rows" button and "Remove" boxes). With it, "Add a row" adds one at
// once, without a round trip.
(function () {
  "use strict";
  var table = document.getElementById("elements");
  var count = document.getElementById("rows-count");
  var more = document.getElementById("more-rows");
  if (!table || !count || !more) { return; }
  var body = table.tBodies[0];
  var add = document.createElement("button");
  add.type = "button";
  add.className = "secondary";
  add.id = "add-row";
  add.textContent = more.getAttribute("data-add") || more.textContent;
  add.addEventListener("click", function () {
    var rows = body.querySelectorAll("tr.element-row");
    var last = rows[rows.length - 1];
    var fresh = last.cloneNode(true);
    var index = rows.length;
    fresh.querySelector("td.n").textContent = String(index + 1);
    Array.prototype.forEach.call(fresh.querySelectorAll("input, select"), function (field) {
      field.name = field.name.replace(/^el-\d+-/, "el-" + index + "-");
      var label = field.getAttribute("aria-label") || "";
      field.setAttribute("aria-label", label.replace(/\d+$/, String(index + 1)));
      if (field.type === "checkbox") { field.checked = false; } else { field.value = ""; }
    });
    body.appendChild(fresh);
    count.value = String(index + 1);
    fresh.querySelector("input").focus();
  });
  more.parentNode.insertBefore(add, more);
  more.hidden = true;
}());
