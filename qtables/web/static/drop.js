// 收取: files dragged anywhere onto the drop card go into its file input and are sent at once (no framework;
// without JavaScript the plain file input still works).
document.addEventListener("DOMContentLoaded", function () {
  var card = document.querySelector("form.drop");
  if (!card) { return; }
  var input = card.querySelector("input[type=file]");
  ["dragenter", "dragover"].forEach(function (name) {
    card.addEventListener(name, function (event) { event.preventDefault(); card.classList.add("over"); });
  });
  card.addEventListener("dragleave", function () { card.classList.remove("over"); });
  card.addEventListener("drop", function (event) {
    event.preventDefault();
    card.classList.remove("over");
    if (event.dataTransfer && event.dataTransfer.files.length) {
      input.files = event.dataTransfer.files;
      card.submit();
    }
  });
});
