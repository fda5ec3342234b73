/* Upload with a progress bar; the server's answer (errors or the list) replaces the page. */
(function () {
  var form = document.getElementById("upload-form");
  if (!form || !window.XMLHttpRequest || !window.FormData) return;
  var bar = document.getElementById("upload-progress");
  form.addEventListener("submit", function (ev) {
    var input = form.querySelector('input[type="file"]');
    if (!input.files.length) return;
    ev.preventDefault();
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action || window.location.href);
    bar.hidden = false;
    xhr.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) bar.value = Math.round((e.loaded / e.total) * 100);
    });
    xhr.addEventListener("load", function () {
      if (xhr.responseURL && xhr.responseURL !== window.location.href && xhr.status < 400) {
        window.location.href = xhr.responseURL;
        return;
      }
      document.open(); document.write(xhr.responseText); document.close();
    });
    xhr.addEventListener("error", function () { bar.hidden = true; alert("Không gửi được tệp. Kiểm tra kết nối mạng rồi thử lại."); });
    xhr.send(new FormData(form));
  });
})();
