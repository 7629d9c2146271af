// EONPRO patient page: document upload with a progress bar. The form is
// sent with XMLHttpRequest (fetch reports no upload progress) and the
// server answers the documents section, which replaces the old one.
(function () {
  "use strict";
  var csrf = document.body.dataset.csrf || "";

  function upload(form) {
    var file = form.querySelector("input[type=file]");
    var bar = form.querySelector("progress");
    var status = form.querySelector("[role=status]");
    var button = form.querySelector("button[type=submit]");
    if (!file.files.length) {
      status.textContent = "Choose a file first.";
      file.focus();
      return;
    }
    var data = new FormData();
    data.append("kind", form.querySelector("select[name=kind]").value);
    data.append("file", file.files[0]);
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("X-CSRF-Token", csrf);
    xhr.setRequestHeader("HX-Request", "true");
    xhr.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) bar.value = Math.round((e.loaded / e.total) * 100);
    });
    xhr.addEventListener("load", function () {
      var html = xhr.responseText || "";
      var isSection = (xhr.getResponseHeader("Content-Type") || "").indexOf("text/html") === 0 &&
        html.indexOf('id="documents-title"') >= 0 && html.indexOf("<html") < 0;
      if (isSection) {
        var holder = document.getElementById("documents");
        holder.innerHTML = html;
        var note = holder.querySelector("#upload-status");
        if (note && xhr.status === 201) note.textContent = "Uploaded.";
        return;
      }
      if (xhr.status === 413) finish("The file is larger than the upload limit.");
      else finish("The upload failed (error " + xhr.status + "). Reload the page and try again.");
    });
    xhr.addEventListener("error", function () { finish("The upload failed: the connection was lost. Try again."); });
    function finish(message) {
      bar.hidden = true;
      button.disabled = false;
      status.textContent = message;
    }
    bar.value = 0;
    bar.hidden = false;
    button.disabled = true;
    status.textContent = "Uploading…";
    xhr.send(data);
  }

  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form.matches || !form.matches("form[data-upload]")) return;
    e.preventDefault();
    upload(form);
  });
})();
