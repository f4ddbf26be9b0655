// The review page: a dropped or opened file fills the box and picks the language by its extension.
// A file is read in the browser (FileReader); nothing is uploaded until "Review" is pressed.
(function () {
  "use strict";
  // Admin → Review rules: a refused file puts the cursor on the line the error names.
  var rules = document.querySelector("textarea[data-error-line]");
  if (rules) {
    var line = parseInt(rules.dataset.errorLine, 10), start = 0;
    for (var n = 1; n < line; n++) start = rules.value.indexOf("\n", start) + 1;
    var end = rules.value.indexOf("\n", start);
    rules.focus();
    rules.setSelectionRange(start, end < 0 ? rules.value.length : end);
  }
})();

(function () {
  "use strict";
  var source = document.getElementById("review-source");
  var select = document.getElementById("review-language");
  var picker = document.getElementById("review-file");
  var drop = document.getElementById("review-drop");
  var nameOut = document.getElementById("review-file-name");
  if (!source || !select) return;

  function languageFor(name) {
    var lower = name.toLowerCase();
    for (var i = 0; i < select.options.length; i++) {
      var exts = (select.options[i].dataset.extensions || "").split(" ");
      for (var j = 0; j < exts.length; j++) {
        if (exts[j] && lower.slice(-exts[j].length) === exts[j]) return select.options[i].value;
      }
    }
    return null;
  }
  function load(file) {
    if (!file) return;
    var reader = new FileReader();
    reader.onload = function () {
      source.value = reader.result;
      nameOut.textContent = file.name;
      var language = languageFor(file.name);
      if (language) select.value = language;
    };
    reader.readAsText(file);
  }
  // HTMX leaves the page as it was when the server refuses (429) or fails: say so where the result goes.
  var form = document.getElementById("review-form");
  var result = document.getElementById("review-result");
  if (form && result) form.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    var card = document.createElement("section");
    card.className = "card";
    var flash = document.createElement("div");
    flash.className = "flash flash-error";
    flash.setAttribute("role", "alert");
    flash.textContent = status === 429 ? form.dataset.error429 : form.dataset.error;
    card.appendChild(flash);
    result.replaceChildren(card);
  });
  if (picker) picker.addEventListener("change", function () { load(picker.files[0]); });
  ["dragenter", "dragover"].forEach(function (type) {
    drop.addEventListener(type, function (event) { event.preventDefault(); drop.classList.add("dragging"); });
  });
  ["dragleave", "drop"].forEach(function (type) {
    drop.addEventListener(type, function () { drop.classList.remove("dragging"); });
  });
  drop.addEventListener("drop", function (event) {
    event.preventDefault();
    if (event.dataTransfer && event.dataTransfer.files.length) load(event.dataTransfer.files[0]);
  });
})();
