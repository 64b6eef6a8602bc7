// The console's only script: progressive enhancement, every page works without it.
// - <body data-refresh="N">: reload the page every N seconds (the live dashboard).
// - <form data-confirm="text">: ask before submitting (releases, outcomes).
(function () {
  "use strict";
  var refresh = parseInt(document.body.getAttribute("data-refresh") || "0", 10);
  if (refresh > 0) {
    window.setTimeout(function () { window.location.reload(); }, refresh * 1000);
  }
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });
})();
