"""The small HTML page at /device where a signed-in user approves a CLI."""

from __future__ import annotations

import html
import secrets

from fastapi.responses import HTMLResponse

TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Orbiter: approve a device</title>
<style nonce="{nonce}">
body{{font-family:system-ui,sans-serif;max-width:26rem;margin:4rem auto;padding:0 1rem;color:#1d2330}}
input,button{{font-size:1rem;padding:.5rem;margin:.25rem 0;width:100%;box-sizing:border-box}}
#code{{font-family:monospace;letter-spacing:.2em;text-transform:uppercase}}
.row{{display:flex;gap:.5rem}} .hidden{{display:none}} #msg{{min-height:1.5rem}}
</style></head><body>
<h1>Approve a device</h1>
<p>Enter the code your terminal shows.</p>
<form id="signin" class="hidden"><p>Sign in first.</p>
<input id="email" type="email" placeholder="Email" autocomplete="username" required>
<input id="password" type="password" placeholder="Password" autocomplete="current-password" required>
<button type="submit">Sign in</button></form>
<form id="decide" class="hidden">
<input id="code" value="{user_code}" placeholder="XXXX-XXXX" maxlength="9" required>
<div class="row"><button type="submit" id="approve">Approve</button>
<button type="button" id="deny">Deny</button></div></form>
<p id="msg" role="status"></p>
<script nonce="{nonce}">
const api = "/api/v1";
const msg = t => document.getElementById("msg").textContent = t;
async function call(method, path, body) {{
  const csrf = (await (await fetch(api + "/auth/csrf", {{credentials: "same-origin"}})).json()).csrf_token;
  const r = await fetch(api + path, {{method, credentials: "same-origin",
    headers: {{"Content-Type": "application/json", "X-CSRF-Token": csrf}},
    body: body && JSON.stringify(body)}});
  const data = r.status === 204 ? {{}} : await r.json();
  if (!r.ok) throw new Error((data.error && data.error.message) || r.statusText);
  return data;
}}
async function show() {{
  const me = await fetch(api + "/auth/me", {{credentials: "same-origin"}});
  document.getElementById("signin").classList.toggle("hidden", me.ok);
  document.getElementById("decide").classList.toggle("hidden", !me.ok);
}}
document.getElementById("signin").addEventListener("submit", async e => {{
  e.preventDefault();
  try {{ await call("POST", "/auth/login", {{email: email.value, password: password.value}}); await show(); msg(""); }}
  catch (err) {{ msg(err.message); }}
}});
async function decide(path) {{
  try {{ msg((await call("POST", path, {{user_code: code.value}})).message); }}
  catch (err) {{ msg(err.message); }}
}}
document.getElementById("decide").addEventListener("submit", e => {{ e.preventDefault(); decide("/oauth/device/authorize"); }});
document.getElementById("deny").addEventListener("click", () => decide("/oauth/device/deny"));
show();
</script></body></html>
"""


def device_page(user_code: str) -> HTMLResponse:
    nonce = secrets.token_urlsafe(16)
    body = TEMPLATE.format(nonce=nonce, user_code=html.escape(user_code[:16], quote=True))
    csp = (
        f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
        "connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
    )
    return HTMLResponse(body, headers={"Content-Security-Policy": csp, "Cache-Control": "no-store"})
