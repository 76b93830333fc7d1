// Starts Swagger UI for /docs. Served as a file (not inline) so the page's CSP is 'self' only.
//
// Signing in: "Try it out" on POST /api/v1/auth/login sets the HttpOnly session cookie and a
// readable CSRF cookie holding the session's CSRF token. Writes made from this page copy that
// cookie into the CSRF header; the server checks the header against the session's own token.
(function () {
  "use strict";
  const config = document.currentScript.dataset;
  const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
  // Sign-in forms take no session token; a stale one left from an ended session would be refused.
  const SIGN_IN = /\/auth\/(login|register|google)$/;

  function readCookie(name) {
    const prefix = name + "=";
    for (const part of document.cookie.split(";")) {
      const item = part.trim();
      if (item.startsWith(prefix)) return decodeURIComponent(item.slice(prefix.length));
    }
    return null;
  }

  function addCsrfHeader(request) {
    const url = new URL(request.url, window.location.href);
    const method = (request.method || "GET").toUpperCase();
    const sameOrigin = url.origin === window.location.origin;
    if (!sameOrigin || SAFE_METHODS.has(method) || SIGN_IN.test(url.pathname)) return request;
    const token = readCookie(config.csrfCookie);
    if (token && !request.headers[config.csrfHeader]) request.headers[config.csrfHeader] = token;
    return request;
  }

  window.ui = SwaggerUIBundle({
    url: config.openapiUrl,
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    validatorUrl: null, // the default badge would ask a third-party validator about the schema
    requestInterceptor: addCsrfHeader,
  });
})();
