// SPARQL query page (api/templates/query.html).
//
// Runs the query with fetch(), keeps it in the address (/sparql?query=…: shareable, survives
// a reload, back and forward step through the queries run), shows SELECT/ASK results and
// CONSTRUCT/DESCRIBE triples as a table whose IRIs are shortened with the project's prefixes
// and link to their pages (the dataset's IRIs on this server; only http and https IRIs become
// links), and offers the answer for download in every format.
//
// The editor is CodeMirror 5 (served from /-/static/vendor/, installed by `make setup`) with
// SPARQL highlighting and prefix completion; without it the page works with the plain text
// box. Every text comes from the page's catalogue (the JSON block #query-config).
(function () {
  "use strict";
  const form = document.getElementById("query-form");
  const textarea = document.getElementById("query");
  const status = document.getElementById("status");
  const tableWrap = document.getElementById("table-wrap");
  const truncated = document.getElementById("truncated");
  const downloads = document.getElementById("downloads");
  const examplesSelect = document.getElementById("examples");
  const exampleData = document.getElementById("example-data");
  const config = JSON.parse(document.getElementById("query-config").textContent);
  const TEXTS = config.texts;
  const PREFIXES = config.prefixes;
  const PREFIX_NAMES = Object.keys(PREFIXES).sort();
  // longest namespace first, so dsid: wins over a shorter namespace it lies under
  const BY_LENGTH = Object.entries(PREFIXES).sort(function (a, b) { return b[1].length - a[1].length; });
  const LOCAL = /^[A-Za-z0-9_][A-Za-z0-9_.\-/]*$/;
  const BASE = form.dataset.base || "";
  const LANG = document.documentElement.lang || "en";
  // protocol parameters an address may carry besides the query; kept for every run
  const KEPT = ["default-graph-uri", "named-graph-uri", "timeout"];
  const addressQuery = textarea.value;

  function text(key, values) {
    let result = TEXTS[key] || key;
    for (const name in values || {}) { result = result.split("{" + name + "}").join(String(values[name])); }
    return result;
  }

  // --- the editor ---------------------------------------------------------------------------

  let editor = null;
  if (window.CodeMirror && textarea) {
    editor = window.CodeMirror.fromTextArea(textarea, {
      mode: "application/sparql-query",
      lineNumbers: true,
      lineWrapping: true,
      matchBrackets: true,
      indentUnit: 2,
      viewportMargin: Infinity,
      screenReaderLabel: TEXTS.query,
      extraKeys: {
        "Ctrl-Enter": function () { run(true); },
        "Cmd-Enter": function () { run(true); },
        "Ctrl-Space": function (cm) { complete(cm, true); },
      },
    });
    editor.getWrapperElement().id = "editor";
    editor.on("inputRead", function (cm, change) {
      // a lowercase letter that may begin a prefix opens the list (keywords are upper case)
      if (cm.state.completionActive || change.origin !== "+input") { return; }
      if (!/^[a-z]$/.test(change.text.join(""))) { return; }
      const found = prefixHint(cm, false);
      if (found && found.list.length) { complete(cm, false); }
    });
    const label = document.getElementById("query-label");
    if (label) { label.addEventListener("click", function () { editor.focus(); }); }
  } else {
    textarea.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        run(true);
      }
    });
  }

  function getQuery() { return editor ? editor.getValue() : textarea.value; }
  function setQuery(value) {
    if (editor) { editor.setValue(value); } else { textarea.value = value; }
  }

  // --- prefix completion ----------------------------------------------------------------------

  function complete(cm, explicit) {
    cm.showHint({ hint: function (instance) { return prefixHint(instance, explicit); },
                  completeSingle: false });
  }

  function prefixHint(cm, explicit) {
    const Pos = window.CodeMirror.Pos;
    const cursor = cm.getCursor();
    const line = cm.getLine(cursor.line);
    const token = cm.getTokenAt(cursor);
    if (token.type === "comment" || token.type === "string") { return null; }
    // a prefix's place: after a space, a bracket, a comma or ^^ (not in ?var, <iri>, "text",
    // @lang, nor in the local part of prefix:name)
    const found = /(?:^|[\s{}()[\];,.]|\^\^)([A-Za-z][A-Za-z0-9_-]*)?$/.exec(line.slice(0, cursor.ch));
    if (!found) { return null; }
    const word = found[1] || "";
    const start = cursor.ch - word.length;
    if (!explicit && !word) { return null; }
    const declaring = /\bprefix\s+$/i.test(line.slice(0, start));
    const fits = explicit
      ? function (name) { return name.toLowerCase().indexOf(word.toLowerCase()) === 0; }
      : function (name) { return name.indexOf(word) === 0; };
    const list = PREFIX_NAMES.filter(fits).map(function (name) {
      const declaration = name + ": <" + PREFIXES[name] + ">";
      return declaring
        ? { text: declaration, displayText: declaration, render: renderHint(name) }
        : { text: name + ":", prefix: name, render: renderHint(name), hint: insertPrefixed };
    });
    const result = { list: list, from: Pos(cursor.line, start), to: Pos(cursor.line, cursor.ch) };
    window.CodeMirror.on(result, "shown", function () {
      // the list needs a name for screen readers (show-hint gives it a role, not a name)
      const owned = cm.getInputField().getAttribute("aria-owns");
      const element = owned && document.getElementById(owned);
      if (element) { element.setAttribute("aria-label", text("prefixes")); }
    });
    return result;
  }

  function renderHint(name) {
    return function (element) {
      const strong = document.createElement("strong");
      strong.textContent = name + ":";
      const namespace = document.createElement("span");
      namespace.className = "hint-namespace";
      namespace.textContent = " <" + PREFIXES[name] + ">";
      element.appendChild(strong);
      element.appendChild(namespace);
    };
  }

  function insertPrefixed(cm, data, completion) {
    cm.replaceRange(completion.text, data.from, data.to, "complete");
    declare(cm, completion.prefix);
  }

  // Add "PREFIX name: <…>" to the prologue unless the query declares it already.
  function declare(cm, name) {
    const declared = new RegExp("^\\s*PREFIX\\s+" + name + "\\s*:", "im");
    if (declared.test(cm.getValue())) { return; }
    let lastDeclaration = -1;
    let firstBody = cm.lineCount();
    for (let i = 0; i < cm.lineCount(); i += 1) {
      const content = cm.getLine(i).trim();
      if (/^(PREFIX|BASE)\b/i.test(content)) { lastDeclaration = i; continue; }
      if (content === "" || content.charAt(0) === "#") { continue; }
      firstBody = i;
      break;
    }
    const at = lastDeclaration >= 0 ? lastDeclaration + 1 : firstBody;
    const declaration = "PREFIX " + name + ": <" + PREFIXES[name] + ">";
    if (at >= cm.lineCount()) {
      cm.replaceRange("\n" + declaration, window.CodeMirror.Pos(cm.lineCount() - 1));
    } else {
      cm.replaceRange(declaration + "\n", window.CodeMirror.Pos(at, 0));
    }
  }

  // --- example queries --------------------------------------------------------------------------

  if (examplesSelect && exampleData) {
    const examples = JSON.parse(exampleData.textContent);
    const description = document.getElementById("example-description");
    examplesSelect.addEventListener("change", function () {
      if (examplesSelect.value === "") {
        setQuery(addressQuery);
        if (description) { description.textContent = ""; }
        return;
      }
      const chosen = examples[Number(examplesSelect.value)];
      setQuery(chosen.text);
      if (description) { description.textContent = chosen.description; }
    });
  }

  // --- the address ------------------------------------------------------------------------------

  function kept() {
    const current = new URLSearchParams(window.location.search);
    const pairs = [];
    for (const key of KEPT) {
      for (const value of current.getAll(key)) { pairs.push([key, value]); }
    }
    return pairs;
  }

  function addressFor(query, lang) {
    const params = new URLSearchParams();
    params.append("query", query);
    for (const [key, value] of kept()) { params.append(key, value); }
    const chosenLang = lang || new URLSearchParams(window.location.search).get("lang");
    if (chosenLang) { params.append("lang", chosenLang); }
    return "/sparql?" + params.toString();
  }

  function remember(query) {
    const address = addressFor(query);
    if (window.location.pathname + window.location.search !== address) {
      window.history.pushState({ query: query }, "", address);
    }
    // the language links keep the query too
    for (const link of document.querySelectorAll(".langswitch a[hreflang]")) {
      link.href = addressFor(query, link.getAttribute("hreflang"));
    }
  }

  window.addEventListener("popstate", function () {
    const query = new URLSearchParams(window.location.search).get("query");
    if (query !== null) {
      setQuery(query);
      run(false);
    } else {
      clear();
    }
  });

  // --- running ----------------------------------------------------------------------------------

  form.addEventListener("submit", function (event) {
    if (editor) { editor.save(); }
    if (event.submitter && event.submitter.id === "download") { return; }  // plain GET download
    event.preventDefault();
    run(true);
  });

  function clear() {
    tableWrap.textContent = "";
    tableWrap.removeAttribute("tabindex");
    truncated.hidden = true;
    downloads.hidden = true;
    downloads.textContent = "";
  }

  function showDownloads(query, formats) {
    downloads.textContent = text("download") + " ";
    for (const [name, label] of formats) {
      const link = document.createElement("a");
      const params = new URLSearchParams({ query: query, format: name });
      for (const [key, value] of kept()) { params.append(key, value); }
      link.href = "/sparql?" + params.toString();
      link.textContent = label;
      link.setAttribute("download", "result." + name);
      link.dataset.format = name;
      downloads.appendChild(link);
    }
    downloads.hidden = false;
  }

  // prefix:local for an IRI under one of the project's prefixes, else the IRI itself
  function compact(iri) {
    for (const [name, namespace] of BY_LENGTH) {
      if (iri.indexOf(namespace) === 0) {
        const local = iri.slice(namespace.length);
        if (local && LOCAL.test(local) && local.indexOf("//") !== 0) { return name + ":" + local; }
      }
    }
    return iri;
  }

  // where an IRI's link goes: the dataset's IRIs to this server, other http(s) IRIs to
  // themselves, every other scheme (javascript:, data:, urn:, …) nowhere
  function hrefOf(iri) {
    if (!/^https?:\/\//i.test(iri)) { return null; }
    return BASE && iri.indexOf(BASE) === 0 ? "/" + iri.slice(BASE.length) : iri;
  }

  function cell(term) {
    const td = document.createElement("td");
    if (!term) { return td; }
    if (term.type === "uri") {
      const shown = compact(term.value);
      const target = hrefOf(term.value);
      if (target === null) {
        td.textContent = shown;
      } else {
        const a = document.createElement("a");
        a.href = target;
        a.textContent = shown;
        if (shown !== term.value) { a.title = term.value; }
        td.appendChild(a);
      }
    } else if (term.type === "bnode") {
      td.textContent = "_:" + term.value;
    } else {
      td.appendChild(document.createTextNode(term.value));
      const extra = document.createElement("span");
      if (term["xml:lang"]) {
        extra.className = "lang";
        extra.textContent = " @" + term["xml:lang"];
        td.appendChild(extra);
      } else if (term.datatype && term.datatype !== "http://www.w3.org/2001/XMLSchema#string") {
        extra.className = "dt";
        extra.textContent = " ^^" + compact(term.datatype);
        extra.title = term.datatype;
        td.appendChild(extra);
      }
    }
    return td;
  }

  function table(headers, rows) {
    const element = document.createElement("table");
    element.className = "results";
    const head = element.createTHead().insertRow();
    for (const name of headers) {
      const th = document.createElement("th");
      th.scope = "col";
      th.textContent = name;
      head.appendChild(th);
    }
    const body = element.createTBody();
    for (const terms of rows) {
      const row = body.insertRow();
      for (const term of terms) { row.appendChild(cell(term)); }
    }
    tableWrap.appendChild(element);
    tableWrap.tabIndex = 0;  // the box scrolls sideways: reachable by keyboard
    return rows.length;
  }

  function showResults(data) {
    if (typeof data.boolean === "boolean") {
      table([text("answer")], [[{ type: "literal", value: data.boolean ? "true" : "false",
                                  datatype: "http://www.w3.org/2001/XMLSchema#boolean" }]]);
      return 1;
    }
    const vars = data.head.vars || [];
    return table(vars.map(function (v) { return "?" + v; }),
                 data.results.bindings.map(function (b) { return vars.map(function (v) { return b[v]; }); }));
  }

  // --- N-Triples (the answer to CONSTRUCT and DESCRIBE) -----------------------------------------

  const NT_TERM = /\s*(<[^>]*>|_:\S+|"(?:[^"\\]|\\.)*"(?:@[A-Za-z0-9-]+|\^\^<[^>]*>)?)/y;

  function unescapeLiteral(value) {
    return value.replace(/\\(u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)/g, function (all, code) {
      if (code.length > 1) { return String.fromCodePoint(parseInt(code.slice(1), 16)); }
      return { t: "\t", n: "\n", r: "\r", b: "\b", f: "\f" }[code] || code;
    });
  }

  function ntTerm(source) {
    if (source.charAt(0) === "<") { return { type: "uri", value: source.slice(1, -1) }; }
    if (source.charAt(0) === "_") { return { type: "bnode", value: source.slice(2) }; }
    const end = source.lastIndexOf("\"");
    const term = { type: "literal", value: unescapeLiteral(source.slice(1, end)) };
    const rest = source.slice(end + 1);
    if (rest.charAt(0) === "@") { term["xml:lang"] = rest.slice(1); }
    if (rest.indexOf("^^") === 0) { term.datatype = rest.slice(3, -1); }
    return term;
  }

  function parseNTriples(body) {
    const triples = [];
    for (const line of body.split("\n")) {
      const content = line.trim();
      if (!content || content.charAt(0) === "#") { continue; }
      const terms = [];
      NT_TERM.lastIndex = 0;
      for (let i = 0; i < 3; i += 1) {
        const found = NT_TERM.exec(content);
        if (!found) { break; }
        terms.push(ntTerm(found[1]));
      }
      if (terms.length === 3) { triples.push(terms); }
    }
    return triples;
  }

  async function run(push) {
    const query = getQuery();
    clear();
    if (push) { remember(query); }
    status.textContent = text("running");
    const started = performance.now();
    const body = new URLSearchParams({ query: query });
    for (const [key, value] of kept()) { body.append(key, value); }
    let response;
    try {
      response = await fetch("/sparql", {
        method: "POST",
        headers: {
          "Content-Type": "application/x-www-form-urlencoded",
          "Accept": "application/sparql-results+json, application/n-triples;q=0.9",
        },
        body: body.toString(),
      });
    } catch (err) {
      status.textContent = "";
      showError(text("unreachable", { error: err }));
      return;
    }
    const seconds = (performance.now() - started) / 1000;
    const type = (response.headers.get("Content-Type") || "").split(";")[0].trim();
    if (!response.ok) {
      status.textContent = "";
      let message = text("httpError", { status: response.status });
      try {
        const error = await response.json();
        message = error.error || message;
        if (error.line) { message += " " + text("position", { line: error.line, column: error.column }); }
      } catch (err) { /* not JSON */ }
      showError(message);
      return;
    }
    let rows;
    if (type === "application/sparql-results+json") {
      rows = showResults(await response.json());
      showDownloads(query, config.resultFormats);
    } else {
      const triples = parseNTriples(await response.text());
      table([text("subject"), text("predicate"), text("object")], triples);
      rows = Number(response.headers.get("X-Digistrat-Result-Rows") || triples.length);
      showDownloads(query, config.rdfFormats);
    }
    if (response.headers.get("X-Digistrat-Truncated") === "true") {
      truncated.textContent = text("truncated", { rows: response.headers.get("X-Digistrat-Max-Result-Rows") });
      truncated.hidden = false;
    }
    const shown = seconds.toLocaleString(LANG, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    status.textContent = rows === 1 ? text("oneRow", { seconds: shown })
                                    : text("rows", { rows: rows.toLocaleString(LANG), seconds: shown });
  }

  function showError(message) {
    const box = document.createElement("p");
    box.className = "error";
    box.id = "error";
    box.textContent = message;
    tableWrap.appendChild(box);
  }

  if (form.dataset.autorun === "true") { run(false); }
})();
