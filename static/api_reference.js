// Starts Swagger UI on /docs (loaded after swagger-ui.js, which defines SwaggerUIBundle).
// "Try it out" calls this page's own origin: the CSP allows no other (connect-src 'self'),
// and PUBLIC_URL, the document's server, need not be the address this page was opened at.
(async () => {
  const root = document.getElementById("reference");
  // Swagger UI's dark theme hangs on a class; the OS decides, as on the dashboard.
  const dark = matchMedia("(prefers-color-scheme: dark)");
  const followOs = () => document.documentElement.classList.toggle("dark-mode", dark.matches);
  followOs();
  dark.addEventListener("change", followOs);
  try {
    const res = await fetch(root.dataset.spec, { headers: { accept: "application/json" } });
    if (!res.ok) throw new Error(`${res.status} ${res.statusText}`);
    const spec = await res.json();
    spec.servers = [{ url: location.origin, description: "This Doorman" }];
    root.textContent = "";
    // deno-lint-ignore no-undef
    SwaggerUIBundle({
      spec,
      domNode: root,
      deepLinking: true,
      tryItOutEnabled: true,
      displayRequestDuration: true,
      defaultModelsExpandDepth: 0,
      filter: true,
      // No badge that sends the document to validator.swagger.io.
      validatorUrl: null,
    });
  } catch (error) {
    root.textContent = `Could not load the API description: ${error.message}`;
  }
})();
