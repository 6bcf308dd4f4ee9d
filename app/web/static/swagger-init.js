// Starts Swagger UI. Kept out of the HTML so that the page needs no inline script
// (the docs pages are served with a Content-Security-Policy that forbids it).
(function () {
  const openapiUrl = document.currentScript.dataset.openapiUrl;

  // The Authorize dialog's "username:" is the e-mail address: say so on the field itself.
  function explainLoginFields() {
    const label = document.querySelector('label[for="oauth_username"]');
    if (label && !label.dataset.explained) {
      label.dataset.explained = "true";
      label.textContent = "username (your e-mail address):";
      const input = document.getElementById("oauth_username");
      if (input) input.placeholder = "alice@example.com";
    }
  }

  window.addEventListener("load", function () {
    window.ui = SwaggerUIBundle({
      url: openapiUrl,
      dom_id: "#swagger-ui",
      layout: "BaseLayout",
      deepLinking: true,
      showExtensions: true,
      showCommonExtensions: true,
      validatorUrl: null, // the online validator badge would load from validator.swagger.io
      presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
    });
    new MutationObserver(explainLoginFields).observe(document.body, {
      childList: true,
      subtree: true,
    });
  });
})();
