// SPARQL query page: runs the query with fetch(), shows SELECT/ASK results as a table and
// CONSTRUCT/DESCRIBE results as Turtle, and offers the answer for download in every format.
// No library, no network access beyond this server.
(function () {
  "use strict";
  const form = document.getElementById("query-form");
  const textarea = document.getElementById("query");
  const status = document.getElementById("status");
  const tableWrap = document.getElementById("table-wrap");
  const rdfOutput = document.getElementById("rdf-output");
  const truncated = document.getElementById("truncated");
  const downloads = document.getElementById("downloads");
  const examplesSelect = document.getElementById("examples");
  const exampleData = document.getElementById("example-data");
  const RESULT_FORMATS = [["json", "SPARQL JSON"], ["xml", "SPARQL XML"], ["csv", "CSV"], ["tsv", "TSV"]];
  const RDF_FORMATS = [["turtle", "Turtle"], ["ntriples", "N-Triples"], ["jsonld", "JSON-LD"],
    ["rdfxml", "RDF/XML"], ["trig", "TriG"], ["nquads", "N-Quads"]];

  if (examplesSelect && exampleData) {
    const examples = JSON.parse(exampleData.textContent);
    const description = document.getElementById("example-description");
    examplesSelect.addEventListener("change", function () {
      const chosen = examples[Number(examplesSelect.value)];
      textarea.value = chosen.text;
      if (description) { description.textContent = chosen.description; }
    });
  }

  textarea.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      run();
    }
  });

  form.addEventListener("submit", function (event) {
    if (event.submitter && event.submitter.id === "download") { return; }  // plain GET download
    event.preventDefault();
    run();
  });

  function clear() {
    tableWrap.textContent = "";
    rdfOutput.textContent = "";
    rdfOutput.hidden = true;
    truncated.hidden = true;
    downloads.hidden = true;
    downloads.textContent = "";
  }

  function showDownloads(query, formats) {
    downloads.textContent = "Download: ";
    for (const [name, label] of formats) {
      const link = document.createElement("a");
      link.href = "/sparql?" + new URLSearchParams({ query: query, format: name }).toString();
      link.textContent = label;
      link.setAttribute("download", "result." + name);
      link.dataset.format = name;
      downloads.appendChild(link);
    }
    downloads.hidden = false;
  }

  function cell(term) {
    const td = document.createElement("td");
    if (!term) { return td; }
    if (term.type === "uri" && !/^https?:\/\//i.test(term.value)) {
      // javascript:, data: and other schemes are shown as text, never as links
      td.textContent = term.value;
    } else if (term.type === "uri") {
      const a = document.createElement("a");
      // the dataset's persistent IRIs resolve on this server (docs/linked-data.md)
      const base = form.dataset.base || "";
      a.href = base && term.value.startsWith(base) ? "/" + term.value.slice(base.length)
                                                   : term.value;
      a.textContent = term.value;
      td.appendChild(a);
    } else if (term.type === "bnode") {
      td.textContent = "_:" + term.value;
    } else {
      td.appendChild(document.createTextNode(term.value));
      const extra = document.createElement("span");
      if (term["xml:lang"]) {
        extra.className = "lang";
        extra.textContent = " @" + term["xml:lang"];
        td.appendChild(extra);
      } else if (term.datatype && !term.datatype.endsWith("#string")) {
        extra.className = "dt";
        extra.textContent = " ^^" + term.datatype.replace("http://www.w3.org/2001/XMLSchema#", "xsd:");
        td.appendChild(extra);
      }
    }
    return td;
  }

  function showTable(data) {
    const table = document.createElement("table");
    table.className = "results";
    if (typeof data.boolean === "boolean") {
      const row = table.insertRow();
      const td = row.insertCell();
      td.textContent = data.boolean ? "true" : "false";
      tableWrap.appendChild(table);
      return 1;
    }
    const vars = data.head.vars || [];
    const head = table.createTHead().insertRow();
    for (const v of vars) {
      const th = document.createElement("th");
      th.textContent = "?" + v;
      head.appendChild(th);
    }
    const body = table.createTBody();
    for (const binding of data.results.bindings) {
      const row = body.insertRow();
      for (const v of vars) { row.appendChild(cell(binding[v])); }
    }
    tableWrap.appendChild(table);
    return data.results.bindings.length;
  }

  async function run() {
    const query = textarea.value;
    clear();
    status.textContent = "Running…";
    const started = performance.now();
    let response;
    try {
      response = await fetch("/sparql", {
        method: "POST",
        headers: {
          "Content-Type": "application/x-www-form-urlencoded",
          "Accept": "application/sparql-results+json, text/turtle;q=0.9",
        },
        body: new URLSearchParams({ query: query }).toString(),
      });
    } catch (err) {
      status.textContent = "";
      showError("The server could not be reached: " + err);
      return;
    }
    const seconds = ((performance.now() - started) / 1000).toFixed(2);
    const type = (response.headers.get("Content-Type") || "").split(";")[0];
    if (!response.ok) {
      status.textContent = "";
      let message = "HTTP " + response.status;
      try {
        const body = await response.json();
        message = body.error || message;
        if (body.line) { message += " (line " + body.line + ", column " + body.column + ")"; }
      } catch (err) { /* not JSON */ }
      showError(message);
      return;
    }
    let rows;
    if (type === "application/sparql-results+json") {
      rows = showTable(await response.json());
      showDownloads(query, RESULT_FORMATS);
    } else {
      rdfOutput.textContent = await response.text();
      rdfOutput.hidden = false;
      rows = Number(response.headers.get("X-Digistrat-Result-Rows") || 0);
      showDownloads(query, RDF_FORMATS);
    }
    if (response.headers.get("X-Digistrat-Truncated") === "true") {
      truncated.textContent = "The answer was cut at " +
        response.headers.get("X-Digistrat-Max-Result-Rows") +
        " rows (the server's limit). Use LIMIT and OFFSET to page through the rest.";
      truncated.hidden = false;
    }
    status.textContent = rows + (rows === 1 ? " row" : " rows") + " in " + seconds + " s";
  }

  function showError(message) {
    const box = document.createElement("p");
    box.className = "error";
    box.id = "error";
    box.textContent = message;
    tableWrap.appendChild(box);
  }
})();
