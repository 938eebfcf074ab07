// Live preview of a letter template: posts the unsaved form to the preview endpoint.
document.addEventListener("DOMContentLoaded", () => {
  const button = document.getElementById("preview-button");
  const output = document.getElementById("preview-output");
  if (!button || !output) return;
  button.addEventListener("click", async () => {
    const form = button.closest("form");
    output.textContent = "Rendering…";
    try {
      const response = await fetch(button.dataset.url, { method: "POST", body: new FormData(form), credentials: "same-origin" });
      const text = await response.text();
      if (response.ok) {
        output.innerHTML = text;
      } else {
        output.textContent = text;
      }
    } catch (error) {
      output.textContent = "The preview could not be loaded: " + error;
    }
  });
});
