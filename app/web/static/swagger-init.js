// Starts Swagger UI. Kept out of the HTML so that the page needs no inline script
// (the docs pages are served with a Content-Security-Policy that forbids it).
(function () {
  const openapiUrl = document.currentScript.dataset.openapiUrl;
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
  });
})();
