// Starts ReDoc for /redoc. Served as a file (not inline) so the page's CSP is 'self' only.
(function () {
  "use strict";
  const config = document.currentScript.dataset;

  // ReDoc 2 always renders an "API docs by Redocly" link whose logo image comes from Redocly's
  // CDN. This page stays on this server: images from other origins are not requested at all
  // (the CSP would refuse them anyway, with a violation report each time).
  function offSite(value) {
    const url = new URL(String(value), window.location.href);
    return !["data:", "blob:"].includes(url.protocol) && url.origin !== window.location.origin;
  }
  const src = Object.getOwnPropertyDescriptor(HTMLImageElement.prototype, "src");
  Object.defineProperty(HTMLImageElement.prototype, "src", {
    ...src,
    set(value) {
      if (!offSite(value)) src.set.call(this, value);
    },
  });
  const setAttribute = Element.prototype.setAttribute;
  Element.prototype.setAttribute = function (name, value) {
    const imageSource = this instanceof HTMLImageElement && String(name).toLowerCase() === "src";
    if (!(imageSource && offSite(value))) setAttribute.call(this, name, value);
  };

  // No web fonts either: ReDoc's defaults name Roboto and Montserrat; use the system's fonts.
  const systemFonts = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
  const theme = { typography: { fontFamily: systemFonts, headings: { fontFamily: systemFonts } } };
  Redoc.init(config.openapiUrl, { theme }, document.getElementById("redoc"));
})();
